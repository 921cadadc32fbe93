// CPU emulation of the CUDA subset the generated kernels use (circuit-cuda's emulator).
// Every kernel source is compiled with -include of this file and -DCIRCUIT_EMU.
//
// * A kernel becomes `extern "C" int NAME(const void* params, unsigned grid, unsigned block)`.
// * KERNEL: the threads of a block run one after another on the calling thread.
// * KERNEL_SYNC (the kernel calls __syncthreads): every thread of a block runs on its own
//   OS thread, synchronized by a std::barrier; blocks run one after another, so
//   `__shared__` arrays can be function-local statics.
// * AT(ptr, i) checks each access against the device allocations (a callback into
//   Rust); an access outside every allocation is reported and redirected to scratch.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <barrier>
#include <thread>
#include <vector>

struct emu_dim3 { unsigned x, y, z; };
static thread_local emu_dim3 threadIdx, blockIdx;
static emu_dim3 blockDim, gridDim;
static thread_local std::barrier<>* emu_bar = nullptr;

#define __device__
#define __global__
#define __forceinline__ inline
#define __shared__ static
#define DEV static inline
#define __syncthreads() emu_bar->arrive_and_wait()

typedef int (*emu_checker_t)(const void*, unsigned long);
static emu_checker_t emu_checker = nullptr;
alignas(64) static unsigned char emu_scratch[64];
extern "C" void emu_set_checker(emu_checker_t c) { emu_checker = c; }

template <class T> static inline T* emu_chk(T* q) {
  if (emu_checker && !emu_checker((const void*)q, sizeof(T))) return (T*)(void*)emu_scratch;
  return q;
}
#define AT(ptr, i) (*emu_chk(&(ptr)[i]))

static inline float __int_as_float(unsigned int v) { float f; memcpy(&f, &v, 4); return f; }
static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
static inline unsigned long long atomicCAS(unsigned long long* a, unsigned long long cmp,
                                           unsigned long long val) {
  __atomic_compare_exchange_n(a, &cmp, val, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return cmp;
}

#define KERNEL(NAME, P)                                                        \
  static void NAME##_body(const P& p);                                         \
  extern "C" int NAME(const void* params, unsigned grid, unsigned block) {     \
    const P& pp = *(const P*)params;                                           \
    blockDim = {block, 1, 1};                                                  \
    gridDim = {grid, 1, 1};                                                    \
    for (unsigned b = 0; b < grid; ++b) {                                      \
      blockIdx = {b, 0, 0};                                                    \
      for (unsigned t = 0; t < block; ++t) {                                   \
        threadIdx = {t, 0, 0};                                                 \
        NAME##_body(pp);                                                       \
      }                                                                        \
    }                                                                          \
    return 0;                                                                  \
  }                                                                            \
  static void NAME##_body(const P& p)

#define KERNEL_SYNC(NAME, P)                                                   \
  static void NAME##_body(const P& p);                                         \
  extern "C" int NAME(const void* params, unsigned grid, unsigned block) {     \
    const P& pp = *(const P*)params;                                           \
    blockDim = {block, 1, 1};                                                  \
    gridDim = {grid, 1, 1};                                                    \
    for (unsigned b = 0; b < grid; ++b) {                                      \
      std::barrier<> bar((std::ptrdiff_t)block);                               \
      std::vector<std::thread> ts;                                             \
      ts.reserve(block);                                                       \
      for (unsigned t = 0; t < block; ++t) {                                   \
        ts.emplace_back([&pp, &bar, b, t]() {                                  \
          blockIdx = {b, 0, 0};                                                \
          threadIdx = {t, 0, 0};                                               \
          emu_bar = &bar;                                                      \
          NAME##_body(pp);                                                     \
        });                                                                    \
      }                                                                        \
      for (auto& th : ts) th.join();                                           \
    }                                                                          \
    return 0;                                                                  \
  }                                                                            \
  static void NAME##_body(const P& p)
