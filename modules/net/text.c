/*
 * text.c — Redis's argument splitting (see text.h): one grammar for the
 * inline commands of RESP (modules/resp/proto.c) and the config file
 * (config.c). Works in place and allocates nothing.
 */
#include "modules/net/text.h"

#include "common/hex.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

/* One "..." argument starting after the quote at *i; unescaped bytes are
 * written at *w (w <= i always: escapes only shrink). -1 if unbalanced. */
static int split_dquoted(char *line, size_t len, size_t *i, size_t *w, int write)
{
    while (*i < len) {
        char c = line[*i];
        if (c == '\\' && *i + 3 < len && line[*i + 1] == 'x' && hex_digit(line[*i + 2]) >= 0 &&
            hex_digit(line[*i + 3]) >= 0) {
            c = (char)(hex_digit(line[*i + 2]) * 16 + hex_digit(line[*i + 3]));
            *i += 4;
        } else if (c == '\\' && *i + 1 < len) {
            switch (line[*i + 1]) {
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'b':
                c = '\b';
                break;
            case 'a':
                c = '\a';
                break;
            default:
                c = line[*i + 1];
                break;
            }
            *i += 2;
        } else if (c == '"') {
            (*i)++;
            /* The closing quote must end the word. */
            return (*i < len && !is_blank(line[*i])) ? -1 : 0;
        } else {
            (*i)++;
        }
        if (write)
            line[*w] = c;
        (*w)++;
    }
    return -1;
}

static int split_squoted(char *line, size_t len, size_t *i, size_t *w, int write)
{
    while (*i < len) {
        char c = line[*i];
        if (c == '\\' && *i + 1 < len && line[*i + 1] == '\'') {
            c = '\'';
            *i += 2;
        } else if (c == '\'') {
            (*i)++;
            return (*i < len && !is_blank(line[*i])) ? -1 : 0;
        } else {
            (*i)++;
        }
        if (write)
            line[*w] = c;
        (*w)++;
    }
    return -1;
}

long net_split_args(char *line, size_t len, size_t base, net_span *argv, size_t cap)
{
    size_t i = 0;
    long count = 0;
    /* Count first without writing, so a too-small argv leaves the line
     * intact for the second call. */
    int write = argv != NULL;

    for (;;) {
        size_t start, w;
        while (i < len && is_blank(line[i]))
            i++;
        if (i >= len)
            return count;
        start = w = i;
        while (i < len && !is_blank(line[i])) {
            if (line[i] == '"') {
                i++;
                if (split_dquoted(line, len, &i, &w, write))
                    return -1;
            } else if (line[i] == '\'') {
                i++;
                if (split_squoted(line, len, &i, &w, write))
                    return -1;
            } else {
                if (write)
                    line[w] = line[i];
                w++, i++;
            }
        }
        if (write && (size_t)count < cap) {
            argv[count].off = base + start;
            argv[count].len = w - start;
        }
        count++;
    }
}
