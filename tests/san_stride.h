/* Sanitizer builds look for memory errors, not for more coverage: the
 * sweeps over every 32-bit input take every SAN_STRIDE-th block of them
 * (as test_format's SCALE does). */
#ifndef AXLT_SAN_STRIDE_H
#define AXLT_SAN_STRIDE_H

#if defined(__SANITIZE_ADDRESS__)
#define SAN_STRIDE 16
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SAN_STRIDE 16
#endif
#endif
#ifndef SAN_STRIDE
#define SAN_STRIDE 1
#endif

#endif
