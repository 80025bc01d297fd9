/*
 * text.h — the small text helpers several layers share: Redis's argument
 * splitting (the grammar of RESP inline commands and of the config file)
 * (hex digits are common/hex.h's, shared with tools/ffdb and modules/ident).
 */
#ifndef FFDB_NET_TEXT_H
#define FFDB_NET_TEXT_H

#include <stddef.h>

/* Bytes line[off .. off + len) of a split line. */
typedef struct net_span {
    size_t off;
    size_t len;
} net_span;

/* Split one line (no "\r\n") into arguments the way Redis does
 * (sdssplitargs): words separated by blanks; "..." with \n \r \t \b \a \\ \"
 * and \xHH escapes; '...' with \'; a closing quote must be followed by a
 * blank or the end. Unescapes in place; spans are offsets from base.
 * Returns the argument count, or -1 for unbalanced quotes; at most cap spans
 * are stored (the count may be larger; argv NULL only counts, leaving the
 * line as it was). */
long net_split_args(char *line, size_t len, size_t base, net_span *argv, size_t cap);

#endif /* FFDB_NET_TEXT_H */
