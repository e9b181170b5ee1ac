// int8 inference kernels: Dense (gemv), Conv2D (HWC), MaxPool2D and ReLU on
// int8 activations, int8 weights, int32 accumulators and fixed-point
// requantisation. A portable C++ variant and a Cortex-M4 DSP variant (SMLAD),
// picked at compile time like the float kernels; both give bit-identical
// results for the same packed layer.
//
// Activations: int8 with a per-tensor scale and zero point (real = s (q - zp)),
// images channel-last (H x W x C).
//
// Packed layer (shared by both variants). A layer has `rows` outputs (Dense
// units, Conv2D output channels) and `taps` weights per row:
//   Dense:  taps = In (input order), padded to a multiple of 4;
//   Conv2D: KH kernel rows of Lr = round4(KW * C) taps, tap j = kx * C + c of
//           kernel row ky (j >= KW * C is zero padding).
// Four taps of one row form a group, stored as one 32-bit word whose bytes are
//   [w0, w1 - (w0 < 0), w2, w3 - (w2 < 0)]        (weights in [-127, 127]);
// read as two int16 halves that word is exactly [256 w1 + w0, 256 w3 + w2].
// Rows are stored in blocks of B rows (Dense 4, Conv2D 2; the last block holds
// the rest). A block of n rows is: n start values, then for each group one
// word per row, then n requantisation multipliers.
//
// Arithmetic (identical in both variants, wrapping modulo 2^32):
//   acc = init + 256 * sum(w x) + 127 * sum(w at even taps)
//   y   = saturate_int8((acc * M + 2^31) >> 32)                  (SMMULR)
// The quantiser chooses init = 256 * K - 127 * sum(w at even taps), so
// acc = 256 (K + sum(w x)): K folds the bias, the input and output zero points
// and M = round(s_in s_w / s_out * 2^24) rescales to the output.
//
// Why this form: on the Cortex-M4 a group of four int8 inputs is prepared once
// per layer into two words a = [x1, x3], b = [256 x0 + 127 - x1,
// 256 x2 + 127 - x3] (SXTB16, REV16, EOR), and then four weights cost one word
// load share, one SXTB16 and two SMLADs:
//   SMLAD(word, a) + SMLAD(SXTB16(word), b) = 256 (w0 x0 + w1 x1 + w2 x2 + w3 x3) + 127 (w0 + w2).
// CMSIS-NN's form (widen both operands with two SXTB16 each) needs one more
// SXTB16 per four weights.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../config.hpp"

namespace tinyadapt::kernels::int8 {

// ---------------------------------------------------------------------------
// Packed format
// ---------------------------------------------------------------------------

constexpr std::size_t round4(std::size_t n) noexcept { return (n + 3) / 4 * 4; }

template <std::size_t Rows, std::size_t Taps, std::size_t Block>
struct Packing {
  static_assert(Rows > 0 && Taps > 0 && Block > 0, "a packed layer needs rows, taps and a block size");
  static constexpr std::size_t rows = Rows;
  static constexpr std::size_t taps = round4(Taps);  // padded tap count
  static constexpr std::size_t groups = taps / 4;
  static constexpr std::size_t block = Block;
  static constexpr std::size_t row_words = groups + 2;
  static constexpr std::size_t words = Rows * row_words;
  static constexpr std::size_t full_blocks = Rows / Block;
  static constexpr std::size_t rest = Rows % Block;

  static constexpr std::size_t rows_in_block(std::size_t b) noexcept { return b < full_blocks ? Block : rest; }
  static constexpr std::size_t block_start(std::size_t b) noexcept { return b * Block * row_words; }
  static constexpr std::size_t init_word(std::size_t r) noexcept { return block_start(r / Block) + r % Block; }
  static constexpr std::size_t weight_word(std::size_t r, std::size_t g) noexcept {
    const std::size_t n = rows_in_block(r / Block);
    return block_start(r / Block) + n + g * n + r % Block;
  }
  static constexpr std::size_t mult_word(std::size_t r) noexcept {
    const std::size_t n = rows_in_block(r / Block);
    return block_start(r / Block) + n + groups * n + r % Block;
  }
};

// One group of four weights (each in [-127, 127]) as a packed word.
constexpr std::uint32_t encode_group(int w0, int w1, int w2, int w3) noexcept {
  const int b1 = w1 - (w0 < 0 ? 1 : 0);
  const int b3 = w3 - (w2 < 0 ? 1 : 0);
  return (static_cast<std::uint32_t>(w0) & 0xffu) | (static_cast<std::uint32_t>(b1) & 0xffu) << 8 |
         (static_cast<std::uint32_t>(w2) & 0xffu) << 16 | (static_cast<std::uint32_t>(b3) & 0xffu) << 24;
}

namespace detail {
constexpr std::int32_t byte_at(std::uint32_t word, unsigned i) noexcept {
  const auto b = static_cast<std::int32_t>((word >> (8 * i)) & 0xffu);
  return b >= 128 ? b - 256 : b;
}
}  // namespace detail

// The four weights of a packed word.
inline void decode_group(std::uint32_t word, std::int32_t w[4]) noexcept {
  const std::int32_t b0 = detail::byte_at(word, 0), b2 = detail::byte_at(word, 2);
  w[0] = b0;
  w[1] = detail::byte_at(word, 1) + (b0 < 0 ? 1 : 0);
  w[2] = b2;
  w[3] = detail::byte_at(word, 3) + (b2 < 0 ? 1 : 0);
}

// Reinterprets the low 32 bits as a signed value (two's complement).
constexpr std::int32_t wrap32(std::uint32_t u) noexcept {
  return u >= 0x80000000u ? static_cast<std::int32_t>(u - 0x80000000u) - 0x7fffffff - 1 : static_cast<std::int32_t>(u);
}

// (a * b + 2^31) >> 32, the Cortex-M4 SMMULR.
constexpr std::int32_t mul_high_round(std::int32_t a, std::int32_t b) noexcept {
  return static_cast<std::int32_t>((static_cast<std::int64_t>(a) * b + (std::int64_t{1} << 31)) >> 32);
}

constexpr std::int8_t saturate8(std::int32_t v) noexcept {
  return static_cast<std::int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v));
}

// The output of one row from its start value, multiplier, sum(w x) and
// sum(w at even taps), exactly as the Cortex-M4 computes it.
constexpr std::int8_t requantize(std::int32_t init, std::int32_t mult, std::int32_t dot, std::int32_t even_sum) noexcept {
  const std::uint32_t acc = static_cast<std::uint32_t>(init) + 256u * static_cast<std::uint32_t>(dot) +
                            127u * static_cast<std::uint32_t>(even_sum);
  return saturate8(mul_high_round(wrap32(acc), mult));
}

// Geometry of a Conv2D (stride and zero padding included) and of the
// prepared input the Cortex-M4 kernel reads.
template <std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t KH, std::size_t KW,
          std::size_t SH, std::size_t SW, std::size_t PT, std::size_t PL, std::size_t OH, std::size_t OW>
struct ConvGeometry {
  static constexpr std::size_t h = H, w = W, c = C, f = F, kh = KH, kw = KW, sh = SH, sw = SW, pt = PT, pl = PL,
                               oh = OH, ow = OW;
  static constexpr std::size_t row_taps = KW * C;     // real taps of one kernel row
  static constexpr std::size_t lr = round4(KW * C);   // packed taps of one kernel row
  static constexpr std::size_t taps = KH * lr;
  static constexpr std::size_t row_groups = lr / 4;
  static constexpr std::size_t groups = KH * row_groups;
  // Input rows and columns the kernel reaches, zero padding included.
  static constexpr std::size_t hp = (OH - 1) * SH + KH;
  static constexpr std::size_t wp = (OW - 1) * SW + KW;
  // Prepared input: with C % 4 == 0 the padded input itself (one entry per
  // pixel, C / 4 groups), otherwise one entry per (input row, output column)
  // holding the KW * C taps the kernel row sees there (lr / 4 groups).
  static constexpr bool direct = C % 4 == 0;
  static constexpr std::size_t entry_bytes = direct ? 2 * C : 2 * lr;
  static constexpr std::size_t row_entries = direct ? wp : OW;
  static constexpr std::size_t col_step = direct ? SW : 1;
  static constexpr std::size_t row_stride = row_entries * entry_bytes;
  static constexpr std::size_t prepared_bytes = hp * row_entries * entry_bytes;
  static constexpr std::size_t macs = OH * OW * KH * KW * C * F;
};

// ---------------------------------------------------------------------------
// Portable kernels
// ---------------------------------------------------------------------------
namespace portable {

template <std::size_t In, std::size_t Out>
inline constexpr std::size_t dense_scratch_bytes = 0;
template <class Geo>
inline constexpr std::size_t conv2d_scratch_bytes = 0;

// y = requantize(W x + bias), x of In values, y of Out values.
template <std::size_t In, std::size_t Out>
inline void dense(const std::int8_t* x, const std::uint32_t* packed, std::int8_t* y, void* /*scratch*/) noexcept {
  using P = Packing<Out, In, 4>;
  for (std::size_t r = 0; r < Out; ++r) {
    std::int32_t dot = 0, even = 0;
    for (std::size_t g = 0; g < P::groups; ++g) {
      std::int32_t w[4];
      decode_group(packed[P::weight_word(r, g)], w);
      even += w[0] + w[2];
      for (std::size_t k = 0; k < 4 && 4 * g + k < In; ++k) dot += w[k] * x[4 * g + k];
    }
    y[r] = requantize(static_cast<std::int32_t>(packed[P::init_word(r)]),
                      static_cast<std::int32_t>(packed[P::mult_word(r)]), dot, even);
  }
}

// HWC convolution; positions outside the input read zp (real zero).
template <class Geo>
inline void conv2d(const std::int8_t* x, std::int8_t zp, const std::uint32_t* packed, std::int8_t* y,
                   void* /*scratch*/) noexcept {
  using P = Packing<Geo::f, Geo::taps, 2>;
  for (std::size_t oy = 0; oy < Geo::oh; ++oy)
    for (std::size_t ox = 0; ox < Geo::ow; ++ox)
      for (std::size_t f = 0; f < Geo::f; ++f) {
        std::int32_t dot = 0, even = 0;
        for (std::size_t ky = 0; ky < Geo::kh; ++ky) {
          const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * Geo::sh + ky) - static_cast<std::ptrdiff_t>(Geo::pt);
          const bool row_in = iy >= 0 && iy < static_cast<std::ptrdiff_t>(Geo::h);
          for (std::size_t g = 0; g < Geo::row_groups; ++g) {
            std::int32_t w[4];
            decode_group(packed[P::weight_word(f, ky * Geo::row_groups + g)], w);
            even += w[0] + w[2];
            for (std::size_t k = 0; k < 4; ++k) {
              const std::size_t j = 4 * g + k;
              if (j >= Geo::row_taps) break;
              const std::size_t kx = j / Geo::c, c = j % Geo::c;
              const std::ptrdiff_t ix =
                  static_cast<std::ptrdiff_t>(ox * Geo::sw + kx) - static_cast<std::ptrdiff_t>(Geo::pl);
              const bool in = row_in && ix >= 0 && ix < static_cast<std::ptrdiff_t>(Geo::w);
              const std::int32_t v =
                  in ? x[(static_cast<std::size_t>(iy) * Geo::w + static_cast<std::size_t>(ix)) * Geo::c + c] : zp;
              dot += w[k] * v;
            }
          }
        }
        y[(oy * Geo::ow + ox) * Geo::f + f] = requantize(static_cast<std::int32_t>(packed[P::init_word(f)]),
                                                         static_cast<std::int32_t>(packed[P::mult_word(f)]), dot, even);
      }
}

// Max pooling (floor mode) on int8; scale and zero point pass through.
template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
inline void max_pool2d(const std::int8_t* x, std::int8_t* y) noexcept {
  constexpr std::size_t OH = (H - K) / S + 1, OW = (W - K) / S + 1;
  for (std::size_t oy = 0; oy < OH; ++oy)
    for (std::size_t ox = 0; ox < OW; ++ox)
      for (std::size_t c = 0; c < C; ++c) {
        std::int8_t m = x[((oy * S) * W + ox * S) * C + c];
        for (std::size_t ky = 0; ky < K; ++ky)
          for (std::size_t kx = 0; kx < K; ++kx) {
            const std::int8_t v = x[((oy * S + ky) * W + ox * S + kx) * C + c];
            m = v > m ? v : m;
          }
        y[(oy * OW + ox) * C + c] = m;
      }
}

// ReLU in place: max(x, zp).
inline void relu(std::int8_t* x, std::size_t n, std::int8_t zp) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] = x[i] < zp ? zp : x[i];
}

}  // namespace portable

// ---------------------------------------------------------------------------
// Cortex-M4 kernels
// ---------------------------------------------------------------------------
#if TINYADAPT_HAS_CORTEX_M4
namespace cortex_m4 {

// The hot loops are inline assembly with every register named: GCC neither
// keeps 13 values in registers through SMLAD chains nor emits LDM. r7 (the
// Thumb frame pointer in unoptimised builds) is never used. Loops over
// groups are unrolled by the assembler (.rept), so addresses are immediates.
//
// Limits of the fast paths (otherwise the portable kernel runs): Dense fully
// unrolled up to 64 groups (256 inputs), looped beyond; Conv2D up to 64 groups
// per output (e.g. 3x3x28) with every kernel row within 1020 bytes of the
// first in the prepared input.

// In-place preparation of groups of four int8 inputs: xp[2g] = a, xp[2g+1] = b
// (see the top of this file). x must be 4-byte aligned.
template <std::size_t G>
TINYADAPT_ALWAYS_INLINE void prepare(const std::int8_t* x, std::uint32_t* xp) noexcept {
  if constexpr (G >= 4) {
    register std::uint32_t a0 asm("r0"), b0 asm("r1"), a1 asm("r2"), b1 asm("r3");
    register std::uint32_t a2 asm("r4"), b2 asm("r5"), a3 asm("r6"), b3 asm("r8");
    register const std::int8_t* S asm("r9") = x;
    register std::uint32_t* D asm("r10") = xp;
    constexpr std::size_t quads = G / 4;
#define TA_I8_PREP4                                                 \
  "ldm %[S]!, {%[b0], %[b1], %[b2], %[b3]}\n\t"                     \
  "sxtb16 %[a0], %[b0], ror #8\n\t"                                 \
  "sxtb16 %[a1], %[b1], ror #8\n\t"                                 \
  "sxtb16 %[a2], %[b2], ror #8\n\t"                                 \
  "sxtb16 %[a3], %[b3], ror #8\n\t"                                 \
  "rev16 %[b0], %[b0]\n\t"                                          \
  "rev16 %[b1], %[b1]\n\t"                                          \
  "rev16 %[b2], %[b2]\n\t"                                          \
  "rev16 %[b3], %[b3]\n\t"                                          \
  "eor %[b0], %[b0], #0x007f007f\n\t"                               \
  "eor %[b1], %[b1], #0x007f007f\n\t"                               \
  "eor %[b2], %[b2], #0x007f007f\n\t"                               \
  "eor %[b3], %[b3], #0x007f007f\n\t"                               \
  "stm %[D]!, {%[a0], %[b0], %[a1], %[b1], %[a2], %[b2], %[a3], %[b3]}\n\t"
    if constexpr (quads <= 16) {
      asm volatile(".rept %c[n]\n\t" TA_I8_PREP4 ".endr\n\t"
                   : [a0] "=&r"(a0), [b0] "=&r"(b0), [a1] "=&r"(a1), [b1] "=&r"(b1), [a2] "=&r"(a2),
                     [b2] "=&r"(b2), [a3] "=&r"(a3), [b3] "=&r"(b3), [S] "+r"(S), [D] "+r"(D)
                   : [n] "i"(quads)
                   : "memory");
    } else {
      register const std::int8_t* E asm("r11") = x + 16 * quads;
      asm volatile("1:\n\t" TA_I8_PREP4 "cmp %[S], %[E]\n\t"
                   "bne 1b\n\t"
                   : [a0] "=&r"(a0), [b0] "=&r"(b0), [a1] "=&r"(a1), [b1] "=&r"(b1), [a2] "=&r"(a2),
                     [b2] "=&r"(b2), [a3] "=&r"(a3), [b3] "=&r"(b3), [S] "+r"(S), [D] "+r"(D)
                   : [E] "r"(E)
                   : "memory", "cc");
    }
#undef TA_I8_PREP4
    x += 16 * quads;
    xp += 8 * quads;
  }
  for (std::size_t g = 0; g < G % 4; ++g) {
    std::uint32_t v, a, b;
    std::memcpy(&v, x + 4 * g, 4);
    asm("sxtb16 %0, %2, ror #8\n\t"
        "rev16 %1, %2\n\t"
        "eor %1, %1, #0x007f007f"
        : "=&r"(a), "=&r"(b)
        : "r"(v));
    xp[2 * g] = a;
    xp[2 * g + 1] = b;
  }
}


// Instruction text helpers (operands are named %[..] in each asm statement).
#define TA_I8_SMLAD(a, w, x) "smlad %[" a "], %[" w "], %[" x "], %[" a "]\n\t"
#define TA_I8_SMLAD3(d, w, x, a) "smlad %[" d "], %[" w "], %[" x "], %[" a "]\n\t"
#define TA_I8_SXTB16(w) "sxtb16 %[" w "], %[" w "]\n\t"
#define TA_I8_REQ(a, m) "smmulr %[" a "], %[" a "], %[" m "]\n\tssat %[" a "], #8, %[" a "]\n\t"
#define TA_I8_XUNROLLED "ldrd %[xa], %[xb], [%[X], #.Lta_o]\n\t"
#define TA_I8_XLOOP "ldrd %[xa], %[xb], [%[X]], #8\n\t"

// Dense: one block of R rows over G groups of prepared input xp. W walks the
// packed block (start values, weights, multipliers); Y receives R outputs.
// Unrolled: R=4 costs 14 instructions per 16 multiply-accumulates.
#define TA_I8_DENSE4_GROUP(LDX)                                                                              \
  LDX "ldm %[W]!, {%[w0], %[w1], %[w2], %[w3]}\n\t" TA_I8_SMLAD("a0", "w0", "xa") TA_I8_SMLAD("a1", "w1", "xa") \
      TA_I8_SMLAD("a2", "w2", "xa") TA_I8_SMLAD("a3", "w3", "xa") TA_I8_SXTB16("w0") TA_I8_SXTB16("w1")         \
          TA_I8_SXTB16("w2") TA_I8_SXTB16("w3") TA_I8_SMLAD("a0", "w0", "xb") TA_I8_SMLAD("a1", "w1", "xb")     \
              TA_I8_SMLAD("a2", "w2", "xb") TA_I8_SMLAD("a3", "w3", "xb")
#define TA_I8_DENSE3_GROUP(LDX)                                                                              \
  LDX "ldm %[W]!, {%[w0], %[w1], %[w2]}\n\t" TA_I8_SMLAD("a0", "w0", "xa") TA_I8_SMLAD("a1", "w1", "xa")        \
      TA_I8_SMLAD("a2", "w2", "xa") TA_I8_SXTB16("w0") TA_I8_SXTB16("w1") TA_I8_SXTB16("w2")                    \
          TA_I8_SMLAD("a0", "w0", "xb") TA_I8_SMLAD("a1", "w1", "xb") TA_I8_SMLAD("a2", "w2", "xb")
#define TA_I8_DENSE2_GROUP(LDX)                                                                              \
  LDX "ldrd %[w0], %[w1], [%[W]], #8\n\t" TA_I8_SMLAD("a0", "w0", "xa") TA_I8_SMLAD("a1", "w1", "xa")           \
      TA_I8_SXTB16("w0") TA_I8_SXTB16("w1") TA_I8_SMLAD("a0", "w0", "xb") TA_I8_SMLAD("a1", "w1", "xb")
#define TA_I8_DENSE1_GROUP(LDX)                                                                              \
  LDX "ldr %[w0], [%[W]], #4\n\t" TA_I8_SMLAD("a0", "w0", "xa") TA_I8_SXTB16("w0") TA_I8_SMLAD("a0", "w0", "xb")

// The group sequence: unrolled with immediate offsets, or (more than 64
// groups) a loop of four groups and the rest unrolled.
#define TA_I8_DENSE_BODY(GROUP)                                                       \
  ".if %c[unrolled]\n\t"                                                             \
  ".set .Lta_o, 0\n\t"                                                               \
  ".rept %c[g]\n\t" GROUP(TA_I8_XUNROLLED) ".set .Lta_o, .Lta_o + 8\n\t"              \
  ".endr\n\t"                                                                        \
  ".else\n\t"                                                                        \
  "1:\n\t" GROUP(TA_I8_XLOOP) GROUP(TA_I8_XLOOP) GROUP(TA_I8_XLOOP) GROUP(TA_I8_XLOOP) \
  "ldr %[xa], %[xe]\n\t"                                                             \
  "cmp %[X], %[xa]\n\t"                                                              \
  "bne 1b\n\t"                                                                       \
  ".rept %c[rest]\n\t" GROUP(TA_I8_XLOOP) ".endr\n\t"                                 \
  ".endif\n\t"

template <std::size_t G>
inline constexpr bool dense_unrolled = G <= 64;

template <std::size_t R, std::size_t G>
TINYADAPT_ALWAYS_INLINE void dense_block(const std::uint32_t*& w, const std::uint32_t* xp, std::int8_t*& y) noexcept {
  constexpr int unrolled = dense_unrolled<G> ? 1 : 0;
  static_assert(unrolled || G / 4 > 0, "internal: looped dense block needs at least four groups");
  const std::uint32_t* xe = xp + 2 * 4 * (G / 4);  // end of the looped part
  if constexpr (R == 4) {
    register std::int32_t a0 asm("r0"), a1 asm("r1"), a2 asm("r2"), a3 asm("r3");
    register std::uint32_t w0 asm("r4"), w1 asm("r5"), w2 asm("r6"), w3 asm("r8"), xa asm("r9"), xb asm("r10");
    register const std::uint32_t* W asm("r11") = w;
    register const std::uint32_t* X asm("r12") = xp;
    register std::int8_t* Y asm("lr") = y;
    asm volatile("ldm %[W]!, {%[a0], %[a1], %[a2], %[a3]}\n\t" TA_I8_DENSE_BODY(TA_I8_DENSE4_GROUP)
                 "ldm %[W]!, {%[w0], %[w1], %[w2], %[w3]}\n\t" TA_I8_REQ("a0", "w0") TA_I8_REQ("a1", "w1")
                     TA_I8_REQ("a2", "w2") TA_I8_REQ("a3", "w3")
                 "strb %[a0], [%[Y]], #1\n\t"
                 "strb %[a1], [%[Y]], #1\n\t"
                 "strb %[a2], [%[Y]], #1\n\t"
                 "strb %[a3], [%[Y]], #1\n\t"
                 : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [w0] "=&r"(w0), [w1] "=&r"(w1),
                   [w2] "=&r"(w2), [w3] "=&r"(w3), [xa] "=&r"(xa), [xb] "=&r"(xb), [W] "+r"(W), [X] "+r"(X),
                   [Y] "+r"(Y)
                 : [g] "i"(G), [rest] "i"(G % 4), [unrolled] "i"(unrolled), [xe] "m"(xe)
                 : "memory", "cc");
    w = W;
    y = Y;
  } else if constexpr (R == 3) {
    register std::int32_t a0 asm("r0"), a1 asm("r1"), a2 asm("r2");
    register std::uint32_t w0 asm("r3"), w1 asm("r4"), w2 asm("r5"), xa asm("r6"), xb asm("r8");
    register const std::uint32_t* W asm("r9") = w;
    register const std::uint32_t* X asm("r10") = xp;
    register std::int8_t* Y asm("r11") = y;
    asm volatile("ldm %[W]!, {%[a0], %[a1], %[a2]}\n\t" TA_I8_DENSE_BODY(TA_I8_DENSE3_GROUP)
                 "ldm %[W]!, {%[w0], %[w1], %[w2]}\n\t" TA_I8_REQ("a0", "w0") TA_I8_REQ("a1", "w1")
                     TA_I8_REQ("a2", "w2")
                 "strb %[a0], [%[Y]], #1\n\t"
                 "strb %[a1], [%[Y]], #1\n\t"
                 "strb %[a2], [%[Y]], #1\n\t"
                 : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2),
                   [xa] "=&r"(xa), [xb] "=&r"(xb), [W] "+r"(W), [X] "+r"(X), [Y] "+r"(Y)
                 : [g] "i"(G), [rest] "i"(G % 4), [unrolled] "i"(unrolled), [xe] "m"(xe)
                 : "memory", "cc");
    w = W;
    y = Y;
  } else if constexpr (R == 2) {
    register std::int32_t a0 asm("r0"), a1 asm("r1");
    register std::uint32_t w0 asm("r2"), w1 asm("r3"), xa asm("r4"), xb asm("r5");
    register const std::uint32_t* W asm("r6") = w;
    register const std::uint32_t* X asm("r8") = xp;
    register std::int8_t* Y asm("r9") = y;
    asm volatile("ldrd %[a0], %[a1], [%[W]], #8\n\t" TA_I8_DENSE_BODY(TA_I8_DENSE2_GROUP)
                 "ldrd %[w0], %[w1], [%[W]], #8\n\t" TA_I8_REQ("a0", "w0") TA_I8_REQ("a1", "w1")
                 "strb %[a0], [%[Y]], #1\n\t"
                 "strb %[a1], [%[Y]], #1\n\t"
                 : [a0] "=&r"(a0), [a1] "=&r"(a1), [w0] "=&r"(w0), [w1] "=&r"(w1), [xa] "=&r"(xa), [xb] "=&r"(xb),
                   [W] "+r"(W), [X] "+r"(X), [Y] "+r"(Y)
                 : [g] "i"(G), [rest] "i"(G % 4), [unrolled] "i"(unrolled), [xe] "m"(xe)
                 : "memory", "cc");
    w = W;
    y = Y;
  } else {
    static_assert(R == 1, "internal: dense blocks have 1 to 4 rows");
    register std::int32_t a0 asm("r0");
    register std::uint32_t w0 asm("r1"), xa asm("r2"), xb asm("r3");
    register const std::uint32_t* W asm("r4") = w;
    register const std::uint32_t* X asm("r5") = xp;
    register std::int8_t* Y asm("r6") = y;
    asm volatile("ldr %[a0], [%[W]], #4\n\t" TA_I8_DENSE_BODY(TA_I8_DENSE1_GROUP)
                 "ldr %[w0], [%[W]], #4\n\t" TA_I8_REQ("a0", "w0")
                 "strb %[a0], [%[Y]], #1\n\t"
                 : [a0] "=&r"(a0), [w0] "=&r"(w0), [xa] "=&r"(xa), [xb] "=&r"(xb), [W] "+r"(W), [X] "+r"(X),
                   [Y] "+r"(Y)
                 : [g] "i"(G), [rest] "i"(G % 4), [unrolled] "i"(unrolled), [xe] "m"(xe)
                 : "memory", "cc");
    w = W;
    y = Y;
  }
}

template <std::size_t In, std::size_t Out>
inline constexpr std::size_t dense_scratch_bytes = 2 * round4(In);

template <std::size_t In, std::size_t Out>
inline void dense(const std::int8_t* x, const std::uint32_t* packed, std::int8_t* y, void* scratch) noexcept {
  using P = Packing<Out, In, 4>;
  auto* xp = static_cast<std::uint32_t*>(scratch);
  prepare<P::groups>(x, xp);
  const std::uint32_t* w = packed;
  for (std::size_t b = 0; b < P::full_blocks; ++b) dense_block<4, P::groups>(w, xp, y);
  if constexpr (P::rest > 0) dense_block<P::rest, P::groups>(w, xp, y);
}

// Conv2D: one block of R (1 or 2) output channels for two output pixels whose
// prepared inputs start at P0 and P1. Kernel row ky, group g sits at
// ky * row_stride + 8 g from the pixel's start. R=2 costs 13 instructions per
// 16 multiply-accumulates. The first group adds the start values.
#define TA_I8_CONV2_GROUP                                                                                   \
  "ldrd %[w0], %[w1], [%[W]], #8\n\t"                                                                       \
  "ldrd %[xa0], %[xb0], [%[P0], #.Lta_o]\n\t"                                                               \
  "ldrd %[xa1], %[xb1], [%[P1], #.Lta_o]\n\t"                                                               \
  ".if .Lta_first\n\t" TA_I8_SMLAD3("a10", "w0", "xa1", "a00") TA_I8_SMLAD3("a11", "w1", "xa1", "a01")        \
      TA_I8_SMLAD("a00", "w0", "xa0") TA_I8_SMLAD("a01", "w1", "xa0") ".else\n\t" TA_I8_SMLAD("a00", "w0", "xa0") \
          TA_I8_SMLAD("a01", "w1", "xa0") TA_I8_SMLAD("a10", "w0", "xa1") TA_I8_SMLAD("a11", "w1", "xa1")      \
  ".endif\n\t" TA_I8_SXTB16("w0") TA_I8_SXTB16("w1") TA_I8_SMLAD("a00", "w0", "xb0")                          \
      TA_I8_SMLAD("a01", "w1", "xb0") TA_I8_SMLAD("a10", "w0", "xb1") TA_I8_SMLAD("a11", "w1", "xb1")
#define TA_I8_CONV1_GROUP                                                                                   \
  "ldr %[w0], [%[W]], #4\n\t"                                                                               \
  "ldrd %[xa0], %[xb0], [%[P0], #.Lta_o]\n\t"                                                               \
  "ldrd %[xa1], %[xb1], [%[P1], #.Lta_o]\n\t"                                                               \
  ".if .Lta_first\n\t" TA_I8_SMLAD3("a10", "w0", "xa1", "a00") TA_I8_SMLAD("a00", "w0", "xa0") ".else\n\t"    \
      TA_I8_SMLAD("a00", "w0", "xa0") TA_I8_SMLAD("a10", "w0", "xa1") ".endif\n\t" TA_I8_SXTB16("w0")          \
          TA_I8_SMLAD("a00", "w0", "xb0") TA_I8_SMLAD("a10", "w0", "xb1")
#define TA_I8_CONV_BODY(GROUP)          \
  ".set .Lta_first, 1\n\t"              \
  ".set .Lta_r, 0\n\t"                  \
  ".rept %c[kh]\n\t"                    \
  ".set .Lta_o, .Lta_r\n\t"             \
  ".rept %c[gr]\n\t" GROUP              \
  ".set .Lta_o, .Lta_o + 8\n\t"         \
  ".set .Lta_first, 0\n\t"              \
  ".endr\n\t"                           \
  ".set .Lta_r, .Lta_r + %c[rs]\n\t"    \
  ".endr\n\t"

template <class Geo>
inline constexpr bool conv_fast = Geo::groups <= 64 && (Geo::kh - 1) * Geo::row_stride + 8 * (Geo::row_groups - 1) <= 1020;

template <class Geo, std::size_t R>
TINYADAPT_ALWAYS_INLINE void conv_block(const std::uint32_t*& w, const unsigned char* p0, const unsigned char* p1,
                                        std::int8_t* y0, std::int8_t* y1) noexcept {
  register std::int32_t a00 asm("r0"), a01 asm("r1"), a10 asm("r2"), a11 asm("r3");
  register std::uint32_t w0 asm("r4"), w1 asm("r5"), xa0 asm("r6"), xb0 asm("r8"), xa1 asm("r9"), xb1 asm("r10");
  register const std::uint32_t* W asm("r11") = w;
  register const unsigned char* P0 asm("r12") = p0;
  register const unsigned char* P1 asm("lr") = p1;
  if constexpr (R == 2) {
    asm volatile("ldrd %[a00], %[a01], [%[W]], #8\n\t" TA_I8_CONV_BODY(TA_I8_CONV2_GROUP)
                 "ldrd %[w0], %[w1], [%[W]], #8\n\t" TA_I8_REQ("a00", "w0") TA_I8_REQ("a01", "w1")
                     TA_I8_REQ("a10", "w0") TA_I8_REQ("a11", "w1")
                 "ldr %[xa0], %[y0]\n\t"
                 "strb %[a00], [%[xa0]]\n\t"
                 "strb %[a01], [%[xa0], #1]\n\t"
                 "ldr %[xa0], %[y1]\n\t"
                 "strb %[a10], [%[xa0]]\n\t"
                 "strb %[a11], [%[xa0], #1]\n\t"
                 : [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11), [w0] "=&r"(w0),
                   [w1] "=&r"(w1), [xa0] "=&r"(xa0), [xb0] "=&r"(xb0), [xa1] "=&r"(xa1), [xb1] "=&r"(xb1),
                   [W] "+r"(W)
                 : [P0] "r"(P0), [P1] "r"(P1), [kh] "i"(Geo::kh), [gr] "i"(Geo::row_groups),
                   [rs] "i"(Geo::row_stride), [y0] "m"(y0), [y1] "m"(y1)
                 : "memory");
  } else {
    static_assert(R == 1, "internal: conv blocks have 1 or 2 channels");
    asm volatile("ldr %[a00], [%[W]], #4\n\t" TA_I8_CONV_BODY(TA_I8_CONV1_GROUP)
                 "ldr %[w0], [%[W]], #4\n\t" TA_I8_REQ("a00", "w0") TA_I8_REQ("a10", "w0")
                 "ldr %[xa0], %[y0]\n\t"
                 "strb %[a00], [%[xa0]]\n\t"
                 "ldr %[xa0], %[y1]\n\t"
                 "strb %[a10], [%[xa0]]\n\t"
                 : [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11), [w0] "=&r"(w0),
                   [w1] "=&r"(w1), [xa0] "=&r"(xa0), [xb0] "=&r"(xb0), [xa1] "=&r"(xa1), [xb1] "=&r"(xb1),
                   [W] "+r"(W)
                 : [P0] "r"(P0), [P1] "r"(P1), [kh] "i"(Geo::kh), [gr] "i"(Geo::row_groups),
                   [rs] "i"(Geo::row_stride), [y0] "m"(y0), [y1] "m"(y1)
                 : "memory");
  }
  w = W;
}

template <class Geo>
inline constexpr std::size_t conv2d_scratch_bytes = conv_fast<Geo> ? Geo::prepared_bytes : 0;

// Fills the prepared input (see ConvGeometry) from x; outside the input the
// taps read zp.
template <class Geo>
inline void prepare_conv_input(const std::int8_t* x, std::int8_t zp, std::uint32_t* t) noexcept {
  const std::uint32_t zbyte = static_cast<std::uint8_t>(zp);
  const std::uint32_t zword = zbyte * 0x01010101u;
  std::uint32_t za, zb;
  asm("sxtb16 %0, %2, ror #8\n\t"
      "rev16 %1, %2\n\t"
      "eor %1, %1, #0x007f007f"
      : "=&r"(za), "=&r"(zb)
      : "r"(zword));
  constexpr std::size_t entry_words = Geo::entry_bytes / 4;
  for (std::size_t iy = 0; iy < Geo::hp; ++iy) {
    std::uint32_t* row = t + iy * Geo::row_entries * entry_words;
    const bool row_in = iy >= Geo::pt && iy - Geo::pt < Geo::h;
    if constexpr (Geo::direct) {
      // Left padding, the input row, right padding.
      constexpr std::size_t left = Geo::pl < Geo::wp ? Geo::pl : Geo::wp;
      constexpr std::size_t mid = Geo::wp - left < Geo::w ? Geo::wp - left : Geo::w;
      const std::size_t n_in = row_in ? mid : 0;
      for (std::size_t i = 0; i < left * entry_words; i += 2) row[i] = za, row[i + 1] = zb;
      if (row_in) prepare<mid * Geo::c / 4>(x + (iy - Geo::pt) * Geo::w * Geo::c, row + left * entry_words);
      for (std::size_t i = (left + n_in) * entry_words; i < Geo::wp * entry_words; i += 2) row[i] = za, row[i + 1] = zb;
    } else {
      for (std::size_t ox = 0; ox < Geo::ow; ++ox) {
        std::uint32_t* e = row + ox * entry_words;
        const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * Geo::sw) - static_cast<std::ptrdiff_t>(Geo::pl);
        alignas(4) std::int8_t taps[Geo::lr];
        if (row_in && ix0 >= 0 && ix0 + static_cast<std::ptrdiff_t>(Geo::kw) <= static_cast<std::ptrdiff_t>(Geo::w)) {
          // The whole kernel row is inside: lr bytes from the input (the
          // padding taps read whatever follows; their weights are zero).
          std::memcpy(taps, x + ((iy - Geo::pt) * Geo::w + static_cast<std::size_t>(ix0)) * Geo::c, Geo::lr);
        } else {
          for (std::size_t j = 0; j < Geo::lr; ++j) {
            const std::ptrdiff_t ix = ix0 + static_cast<std::ptrdiff_t>(j / Geo::c);
            const bool in = row_in && j < Geo::row_taps && ix >= 0 && ix < static_cast<std::ptrdiff_t>(Geo::w);
            taps[j] = in ? x[((iy - Geo::pt) * Geo::w + static_cast<std::size_t>(ix)) * Geo::c + j % Geo::c] : zp;
          }
        }
        prepare<Geo::row_groups>(taps, e);
      }
    }
  }
}

template <class Geo>
inline void conv2d(const std::int8_t* x, std::int8_t zp, const std::uint32_t* packed, std::int8_t* y,
                   void* scratch) noexcept {
  if constexpr (!conv_fast<Geo>) {
    portable::conv2d<Geo>(x, zp, packed, y, scratch);
  } else {
    auto* t = static_cast<std::uint32_t*>(scratch);
    prepare_conv_input<Geo>(x, zp, t);
    const auto* base = reinterpret_cast<const unsigned char*>(t);
    constexpr std::size_t n = Geo::oh * Geo::ow;
    for (std::size_t p = 0; p < n; p += 2) {
      const std::size_t q = p + 1 < n ? p + 1 : p;
      const unsigned char* p0 =
          base + ((p / Geo::ow) * Geo::sh * Geo::row_entries + (p % Geo::ow) * Geo::col_step) * Geo::entry_bytes;
      const unsigned char* p1 =
          base + ((q / Geo::ow) * Geo::sh * Geo::row_entries + (q % Geo::ow) * Geo::col_step) * Geo::entry_bytes;
      std::int8_t* y0 = y + p * Geo::f;
      std::int8_t* y1 = y + q * Geo::f;
      const std::uint32_t* w = packed;
      for (std::size_t c = 0; c + 1 < Geo::f; c += 2) conv_block<Geo, 2>(w, p0, p1, y0 + c, y1 + c);
      if constexpr (Geo::f % 2 == 1) conv_block<Geo, 1>(w, p0, p1, y0 + Geo::f - 1, y1 + Geo::f - 1);
    }
  }
}

// Max pooling: four channels per word (SSUB8 sets a byte-wise "greater or
// equal" mask, SEL picks the larger bytes).
template <std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S>
inline void max_pool2d(const std::int8_t* x, std::int8_t* y) noexcept {
  if constexpr (C % 4 != 0) {
    portable::max_pool2d<H, W, C, K, S>(x, y);
  } else {
    constexpr std::size_t OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox)
        for (std::size_t c = 0; c < C; c += 4) {
          const std::int8_t* px = x + ((oy * S) * W + ox * S) * C + c;
          std::uint32_t m;
          std::memcpy(&m, px, 4);
          for (std::size_t ky = 0; ky < K; ++ky)
            for (std::size_t kx = 0; kx < K; ++kx) {
              if (ky == 0 && kx == 0) continue;
              std::uint32_t v, d;
              std::memcpy(&v, px + (ky * W + kx) * C, 4);
              asm("ssub8 %1, %2, %0\n\t"
                  "sel %0, %2, %0"
                  : "+r"(m), "=&r"(d)
                  : "r"(v)
                  : "cc");
            }
          std::memcpy(y + (oy * OW + ox) * C + c, &m, 4);
        }
  }
}

using portable::relu;

#undef TA_I8_SMLAD
#undef TA_I8_SMLAD3
#undef TA_I8_SXTB16
#undef TA_I8_REQ
#undef TA_I8_XUNROLLED
#undef TA_I8_XLOOP
#undef TA_I8_DENSE4_GROUP
#undef TA_I8_DENSE3_GROUP
#undef TA_I8_DENSE2_GROUP
#undef TA_I8_DENSE1_GROUP
#undef TA_I8_DENSE_BODY
#undef TA_I8_CONV2_GROUP
#undef TA_I8_CONV1_GROUP
#undef TA_I8_CONV_BODY

}  // namespace cortex_m4
#endif

// The variant used by the int8 network.
#if TINYADAPT_HAS_CORTEX_M4
using namespace cortex_m4;  // NOLINT: deliberate selection of the target variant
inline constexpr const char* variant = "cortex-m4";
#else
using namespace portable;  // NOLINT: deliberate selection of the portable variant
inline constexpr const char* variant = "portable";
#endif


}  // namespace tinyadapt::kernels::int8
