#include <zlib.h>

// `inflateInit2` is a macro (it passes the library version and the stream's size), which Swift
// cannot call; this wrapper makes it a function. `windowBits` 15 + 32 accepts both zlib and gzip
// headers, detected from the first bytes.
static inline int czlib_inflate_init_auto(z_streamp stream) {
    return inflateInit2(stream, 15 + 32);
}
