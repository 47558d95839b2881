// Assertions for invariants that only a bug can break. CAIRN_CHECK stays on in release builds (the
// log's framing and recovery rely on it); CAIRN_DCHECK is for hot paths and debug builds only.
#pragma once

namespace cairn::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const char* msg);
}  // namespace cairn::detail

#define CAIRN_CHECK(cond)                                                \
  do {                                                                   \
    if (__builtin_expect(!(cond), 0)) {                                  \
      ::cairn::detail::check_failed(#cond, __FILE__, __LINE__, nullptr); \
    }                                                                    \
  } while (0)

#define CAIRN_CHECK_MSG(cond, msg)                                   \
  do {                                                               \
    if (__builtin_expect(!(cond), 0)) {                              \
      ::cairn::detail::check_failed(#cond, __FILE__, __LINE__, msg); \
    }                                                                \
  } while (0)

#ifdef NDEBUG
#define CAIRN_DCHECK(cond) \
  do {                     \
  } while (false && (cond))
#else
#define CAIRN_DCHECK(cond) CAIRN_CHECK(cond)
#endif
