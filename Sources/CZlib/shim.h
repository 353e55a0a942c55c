// zlib, which the proxy already links for gzip (through compress-nio): the spool takes its
// CRC-32 from here.
#include <zlib.h>
