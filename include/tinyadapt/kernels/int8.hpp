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
// Rows are stored in blocks of B rows (Dense 4; Conv2D 2, or 1 when a channel
// has at most 3 groups; the last block holds the rest). A block of n rows is:
// n start values, then for each group one word per row, then n
// requantisation multipliers.
//
// Buffers: inputs 4-byte aligned and readable 3 bytes past their end (the
// Cortex-M4 kernels read whole words; padding taps meet zero weights).
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
  // Output channels per packed block: 1 when a channel's weights fit in
  // registers (at most 3 groups: the Cortex-M4 kernel then keeps them there
  // for a whole output row), else 2.
  static constexpr std::size_t block = groups <= 3 ? 1 : 2;
  using packing = Packing<F, taps, block>;
  // One input channel, 3x3 kernel, stride 1 (the first layer of most image
  // networks) uses the mono3x3 format below instead of packed groups.
  static constexpr bool mono3x3 = C == 1 && KH == 3 && KW == 3 && SH == 1 && SW == 1;
};

// The mono3x3 format. Nine weights per channel are few enough to stay in
// registers as 16-bit values, so they are stored that way, already multiplied
// by the requantisation factor s_in s_w / s_out * 2^15: requantising is then
// one arithmetic shift with saturation (SSAT), and the weights are more
// precise than int8. Per output channel six words:
//   start value, [w00, w10], [w01, w11], [w02, w12], [w20, w21], [0, w22]
// (w_yx the weight at kernel row y, column x; [lo, hi] two int16 halves), and
//   y = saturate_int8((start + sum w_yx x) >> 15)        (arithmetic shift)
// where x are the raw int8 inputs, zp outside the input. The start value
// folds bias, zero points and the rounding half 2^14; the quantiser bounds
// |start| + 128 sum |w| below 2^31, so the sum never wraps.
namespace mono3x3 {
inline constexpr std::size_t words_per_channel = 6;
inline constexpr int shift = 15;
inline constexpr std::int32_t max_weight = 32767;

constexpr std::uint32_t pair(std::int32_t lo, std::int32_t hi) noexcept {
  return (static_cast<std::uint32_t>(lo) & 0xffffu) | (static_cast<std::uint32_t>(hi) & 0xffffu) << 16;
}
constexpr std::int32_t half(std::uint32_t word, unsigned i) noexcept {
  const auto h = static_cast<std::int32_t>((word >> (16 * i)) & 0xffffu);
  return h >= 32768 ? h - 65536 : h;
}
// Word (1..5 after the start value) and half holding weight (ky, kx).
constexpr std::size_t word_of(std::size_t ky, std::size_t kx) noexcept { return ky < 2 ? 1 + kx : (kx < 2 ? 4 : 5); }
constexpr unsigned half_of(std::size_t ky, std::size_t kx) noexcept {
  return ky < 2 ? static_cast<unsigned>(ky) : (kx == 1 || kx == 2 ? 1u : 0u);
}
constexpr std::int32_t weight(const std::uint32_t* channel, std::size_t ky, std::size_t kx) noexcept {
  return half(channel[word_of(ky, kx)], half_of(ky, kx));
}
// Writes one channel: start value and w[ky][kx].
inline void store(std::uint32_t* channel, std::int32_t start, const std::int32_t w[3][3]) noexcept {
  channel[0] = static_cast<std::uint32_t>(start);
  for (std::size_t kx = 0; kx < 3; ++kx) channel[1 + kx] = pair(w[0][kx], w[1][kx]);
  channel[4] = pair(w[2][0], w[2][1]);
  channel[5] = pair(0, w[2][2]);
}
// floor(v / 2^15), saturated to int8.
constexpr std::int8_t requantize(std::int32_t v) noexcept {
  const std::int32_t q = v >= 0 ? v / 32768 : -((-(v + 1)) / 32768) - 1;
  return saturate8(q);
}
}  // namespace mono3x3

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

// mono3x3 convolution (format above); positions outside the input read zp.
template <class Geo>
inline void conv2d_mono3x3(const std::int8_t* x, std::int8_t zp, const std::uint32_t* packed,
                           std::int8_t* y) noexcept {
  for (std::size_t oy = 0; oy < Geo::oh; ++oy)
    for (std::size_t ox = 0; ox < Geo::ow; ++ox)
      for (std::size_t f = 0; f < Geo::f; ++f) {
        const std::uint32_t* ch = packed + f * mono3x3::words_per_channel;
        std::int32_t acc = static_cast<std::int32_t>(ch[0]);
        for (std::size_t ky = 0; ky < 3; ++ky)
          for (std::size_t kx = 0; kx < 3; ++kx) {
            const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy + ky) - static_cast<std::ptrdiff_t>(Geo::pt);
            const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox + kx) - static_cast<std::ptrdiff_t>(Geo::pl);
            const bool in = iy >= 0 && iy < static_cast<std::ptrdiff_t>(Geo::h) && ix >= 0 &&
                            ix < static_cast<std::ptrdiff_t>(Geo::w);
            acc += mono3x3::weight(ch, ky, kx) *
                   (in ? x[static_cast<std::size_t>(iy) * Geo::w + static_cast<std::size_t>(ix)] : zp);
          }
        y[(oy * Geo::ow + ox) * Geo::f + f] = mono3x3::requantize(acc);
      }
}

// HWC convolution; positions outside the input read zp (real zero).
template <class Geo>
inline void conv2d(const std::int8_t* x, std::int8_t zp, const std::uint32_t* packed, std::int8_t* y,
                   void* /*scratch*/) noexcept {
  if constexpr (Geo::mono3x3) {
    conv2d_mono3x3<Geo>(x, zp, packed, y);
    return;
  }
  using P = typename Geo::packing;
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
// Cortex-M4 kernels (available wherever the DSP extension is, so tests can
// compare them with the portable ones in either build)
// ---------------------------------------------------------------------------
#if defined(__ARM_FEATURE_DSP) && !defined(__aarch64__)
#define TINYADAPT_INT8_DSP 1
namespace cortex_m4 {

// The hot loops are inline assembly with every register named: GCC neither
// keeps 13 values in registers through SMLAD chains nor emits LDM. r7 (the
// Thumb frame pointer in unoptimised builds) is never used. Groups are
// unrolled by the assembler (.rept), so input addresses are immediates.
// Each .rept block is the whole body of a noinline function: GCC cannot see
// its real length, so no literal pool or short branch may span it.
//
// Cost in executed instructions per multiply-accumulate (MAC) of the inner
// blocks: Dense 14 per 16 MACs (4 rows), Conv2D 13 per 16 (2 pixels x 2
// channels), Conv2D with weights in registers 12 per output of 3 groups.
// Preparing inputs, requantising (SMMULR, SSAT, STRB per output) and loop
// control come on top (the on-target test prints whole layers).
//
// Limits of the fast paths (beyond them the portable kernel runs): Conv2D
// with at most 64 groups per output (e.g. 3x3x28) and every kernel row within
// 1020 bytes of the first in the prepared input (see ConvGeometry).

// a = [x1, x3], b = [256 x0 + 127 - x1, 256 x2 + 127 - x3] for one word of four inputs.
TINYADAPT_ALWAYS_INLINE void prepare_word(std::uint32_t x, std::uint32_t& a, std::uint32_t& b) noexcept {
  asm("sxtb16 %0, %2, ror #8\n\t"
      "rev16 %1, %2\n\t"
      "eor %1, %1, #0x007f007f"
      : "=&r"(a), "=&r"(b)
      : "r"(x));
}

// The Dense and Conv2D assembly below names registers directly (r7 is never
// used) and receives its pointers through memory operands.
#define TA_I8_CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "memory", "cc"
#define TA_I8_REQ(a, m) "smmulr " a ", " a ", " m "\n\tssat " a ", #8, " a "\n\t"

// Four groups of inputs: r9 source, r10 destination (see prepare()).
#define TA_I8_PREP4                                        \
  "ldm r9!, {r1, r3, r5, r8}\n\t"                          \
  "sxtb16 r0, r1, ror #8\n\t"                              \
  "sxtb16 r2, r3, ror #8\n\t"                              \
  "sxtb16 r4, r5, ror #8\n\t"                              \
  "sxtb16 r6, r8, ror #8\n\t"                              \
  "rev16 r1, r1\n\t"                                       \
  "rev16 r3, r3\n\t"                                       \
  "rev16 r5, r5\n\t"                                       \
  "rev16 r8, r8\n\t"                                       \
  "eor r1, r1, #0x007f007f\n\t"                            \
  "eor r3, r3, #0x007f007f\n\t"                            \
  "eor r5, r5, #0x007f007f\n\t"                            \
  "eor r8, r8, #0x007f007f\n\t"                            \
  "stm r10!, {r0, r1, r2, r3, r4, r5, r6, r8}\n\t"
#define TA_I8_PREP1                                        \
  "ldr r1, [r9], #4\n\t"                                   \
  "sxtb16 r0, r1, ror #8\n\t"                              \
  "rev16 r1, r1\n\t"                                       \
  "eor r1, r1, #0x007f007f\n\t"                            \
  "strd r0, r1, [r10], #8\n\t"
// Input x -> prepared xp, with operands x, xp, xq (x + 16 * quads) and the
// constants plooped, quads, grest.
#define TA_I8_PREPARE                                      \
  "ldr r9, %[x]\n\t"                                       \
  "ldr r10, %[xp]\n\t"                                     \
  ".if %c[plooped]\n\t"                                    \
  "ldr r11, %[xq]\n\t"                                     \
  "1:\n\t" TA_I8_PREP4                                     \
  "cmp r9, r11\n\t"                                        \
  "bne 1b\n\t"                                             \
  ".else\n\t"                                              \
  ".rept %c[quads]\n\t" TA_I8_PREP4 ".endr\n\t"           \
  ".endif\n\t"                                             \
  ".rept %c[grest]\n\t" TA_I8_PREP1 ".endr\n\t"

// Prepares G groups of four inputs: xp[2g] = a, xp[2g + 1] = b. x must be
// 4-byte aligned. 14 instructions per four groups.
template <std::size_t G>
__attribute__((noinline)) void prepare(const std::int8_t* x, std::uint32_t* xp) noexcept {
  const std::int8_t* const xq = x + 16 * (G / 4);
  asm volatile(TA_I8_PREPARE
               :
               : [x] "m"(x), [xp] "m"(xp), [xq] "m"(xq), [quads] "i"(G / 4), [grest] "i"(G % 4),
                 [plooped] "i"(G / 4 > 16 ? 1 : 0)
               : TA_I8_CLOBBERS);
}

// Dense groups. Registers: accumulators r0-r3, weights r4 r5 r6 r8, prepared
// input r9 (a) r10 (b), weights pointer r11, input pointer r12, output lr.
#define TA_I8_XU "ldrd r9, r10, [r12, #.Lta_o]\n\t"
#define TA_I8_XL "ldrd r9, r10, [r12], #8\n\t"
#define TA_I8_D4(LDX)                                                                                 \
  LDX "ldm r11!, {r4, r5, r6, r8}\n\t"                                                                \
      "smlad r0, r4, r9, r0\n\tsmlad r1, r5, r9, r1\n\tsmlad r2, r6, r9, r2\n\tsmlad r3, r8, r9, r3\n\t" \
      "sxtb16 r4, r4\n\tsxtb16 r5, r5\n\tsxtb16 r6, r6\n\tsxtb16 r8, r8\n\t"                          \
      "smlad r0, r4, r10, r0\n\tsmlad r1, r5, r10, r1\n\tsmlad r2, r6, r10, r2\n\tsmlad r3, r8, r10, r3\n\t"
#define TA_I8_D3(LDX)                                                                     \
  LDX "ldm r11!, {r4, r5, r6}\n\t"                                                        \
      "smlad r0, r4, r9, r0\n\tsmlad r1, r5, r9, r1\n\tsmlad r2, r6, r9, r2\n\t"          \
      "sxtb16 r4, r4\n\tsxtb16 r5, r5\n\tsxtb16 r6, r6\n\t"                               \
      "smlad r0, r4, r10, r0\n\tsmlad r1, r5, r10, r1\n\tsmlad r2, r6, r10, r2\n\t"
#define TA_I8_D2(LDX)                                                                     \
  LDX "ldrd r4, r5, [r11], #8\n\t"                                                        \
      "smlad r0, r4, r9, r0\n\tsmlad r1, r5, r9, r1\n\t"                                  \
      "sxtb16 r4, r4\n\tsxtb16 r5, r5\n\t"                                                \
      "smlad r0, r4, r10, r0\n\tsmlad r1, r5, r10, r1\n\t"
#define TA_I8_D1(LDX) \
  LDX "ldr r4, [r11], #4\n\tsmlad r0, r4, r9, r0\n\tsxtb16 r4, r4\n\tsmlad r0, r4, r10, r0\n\t"
// All groups of one block: unrolled with immediate input offsets, or (more
// than 64 groups) four per loop iteration, the rest unrolled, and the input
// pointer reset for the next block.
#define TA_I8_DGROUPS(D)                                                      \
  ".if %c[unrolled]\n\t"                                                      \
  ".set .Lta_o, 0\n\t"                                                        \
  ".rept %c[g]\n\t" D(TA_I8_XU) ".set .Lta_o, .Lta_o + 8\n\t"                  \
  ".endr\n\t"                                                                 \
  ".else\n\t"                                                                 \
  "4:\n\t" D(TA_I8_XL) D(TA_I8_XL) D(TA_I8_XL) D(TA_I8_XL)                     \
  "ldr r9, %[xe]\n\t"                                                         \
  "cmp r12, r9\n\t"                                                           \
  "bne 4b\n\t"                                                                \
  ".rept %c[grest]\n\t" D(TA_I8_XL) ".endr\n\t"                                \
  "ldr r12, %[xp]\n\t"                                                        \
  ".endif\n\t"

template <std::size_t G>
inline constexpr int dense_unrolled = G <= 64 ? 1 : 0;

template <std::size_t In, std::size_t Out>
inline constexpr std::size_t dense_scratch_bytes = 2 * round4(In);

// The whole Dense layer in one block of assembly: prepare the input into xp,
// then blocks of 4 rows (14 instructions per 16 multiply-accumulates) and one
// block of the remaining rows.
template <std::size_t In, std::size_t Out>
__attribute__((noinline)) void dense_layer(const std::int8_t* x, const std::uint32_t* w, std::int8_t* y,
                                           std::uint32_t* xp) noexcept {
  using P = Packing<Out, In, 4>;
  constexpr std::size_t G = P::groups;
  static_assert(dense_unrolled<G> || G / 4 > 0, "internal: looped dense block needs at least four groups");
  const std::int8_t* const xq = x + 16 * (G / 4);                     // end of the four-group preparation
  const std::uint32_t* const xe = xp + 2 * 4 * (G / 4);               // end of the looped groups
  const std::uint32_t* const wend = w + P::block_start(P::full_blocks);  // end of the 4-row blocks
  asm volatile(
      TA_I8_PREPARE
      // Blocks of four rows.
      "ldr r11, %[w]\n\t"
      "ldr r12, %[xp]\n\t"
      "ldr lr, %[y]\n\t"
      ".if %c[blocks]\n\t"
      "3:\n\t"
      "ldm r11!, {r0, r1, r2, r3}\n\t" TA_I8_DGROUPS(TA_I8_D4)
      "ldm r11!, {r4, r5, r6, r8}\n\t" TA_I8_REQ("r0", "r4") TA_I8_REQ("r1", "r5") TA_I8_REQ("r2", "r6")
          TA_I8_REQ("r3", "r8")
      "strb r0, [lr], #1\n\t"
      "strb r1, [lr], #1\n\t"
      "strb r2, [lr], #1\n\t"
      "strb r3, [lr], #1\n\t"
      "ldr r9, %[wend]\n\t"
      "cmp r11, r9\n\t"
      "bne 3b\n\t"
      ".endif\n\t"
      // The remaining rows.
      ".if %c[rest] == 3\n\t"
      "ldm r11!, {r0, r1, r2}\n\t" TA_I8_DGROUPS(TA_I8_D3)
      "ldm r11!, {r4, r5, r6}\n\t" TA_I8_REQ("r0", "r4") TA_I8_REQ("r1", "r5") TA_I8_REQ("r2", "r6")
      "strb r0, [lr], #1\n\t"
      "strb r1, [lr], #1\n\t"
      "strb r2, [lr], #1\n\t"
      ".elseif %c[rest] == 2\n\t"
      "ldrd r0, r1, [r11], #8\n\t" TA_I8_DGROUPS(TA_I8_D2)
      "ldrd r4, r5, [r11], #8\n\t" TA_I8_REQ("r0", "r4") TA_I8_REQ("r1", "r5")
      "strb r0, [lr], #1\n\t"
      "strb r1, [lr], #1\n\t"
      ".elseif %c[rest] == 1\n\t"
      "ldr r0, [r11], #4\n\t" TA_I8_DGROUPS(TA_I8_D1)
      "ldr r4, [r11], #4\n\t" TA_I8_REQ("r0", "r4")
      "strb r0, [lr], #1\n\t"
      ".endif\n\t"
      :
      : [x] "m"(x), [w] "m"(w), [y] "m"(y), [xp] "m"(xp), [xq] "m"(xq), [xe] "m"(xe), [wend] "m"(wend),
        [g] "i"(G), [quads] "i"(G / 4), [grest] "i"(G % 4), [plooped] "i"(G / 4 > 16 ? 1 : 0),
        [unrolled] "i"(dense_unrolled<G>), [blocks] "i"(P::full_blocks > 0 ? 1 : 0), [rest] "i"(P::rest)
      : TA_I8_CLOBBERS);
}

template <std::size_t In, std::size_t Out>
inline void dense(const std::int8_t* x, const std::uint32_t* packed, std::int8_t* y, void* scratch) noexcept {
  dense_layer<In, Out>(x, packed, y, static_cast<std::uint32_t*>(scratch));
}

// Conv2D groups. Registers: accumulators r0 r1 (pixel 0, channels 0 and 1),
// r2 r3 (pixel 1), weights r4 r5, prepared input r6 r8 (pixel 0) r9 r10
// (pixel 1), weights pointer r11, input pointer r12 (pixel 0; pixel 1 is the
// next one in the row, %[dp] bytes on), output lr. Two channels of two pixels
// cost 13 instructions per 16 multiply-accumulates; the first group of a
// two-pixel block adds the start values (loaded into r0 r1) for pixel 1 too.
#define TA_I8_C22                                                                  \
  "ldrd r4, r5, [r11], #8\n\t"                                                     \
  "ldrd r6, r8, [r12, #.Lta_o]\n\t"                                                \
  "ldrd r9, r10, [r12, #(.Lta_o + %c[dp])]\n\t"                                    \
  ".if .Lta_first\n\t"                                                             \
  "smlad r2, r4, r9, r0\n\tsmlad r3, r5, r9, r1\n\t"                               \
  "smlad r0, r4, r6, r0\n\tsmlad r1, r5, r6, r1\n\t"                               \
  ".else\n\t"                                                                      \
  "smlad r0, r4, r6, r0\n\tsmlad r1, r5, r6, r1\n\t"                               \
  "smlad r2, r4, r9, r2\n\tsmlad r3, r5, r9, r3\n\t"                               \
  ".endif\n\t"                                                                     \
  "sxtb16 r4, r4\n\tsxtb16 r5, r5\n\t"                                             \
  "smlad r0, r4, r8, r0\n\tsmlad r1, r5, r8, r1\n\t"                               \
  "smlad r2, r4, r10, r2\n\tsmlad r3, r5, r10, r3\n\t"
#define TA_I8_C12                                                                  \
  "ldr r4, [r11], #4\n\t"                                                          \
  "ldrd r6, r8, [r12, #.Lta_o]\n\t"                                                \
  "ldrd r9, r10, [r12, #(.Lta_o + %c[dp])]\n\t"                                    \
  ".if .Lta_first\n\t"                                                             \
  "smlad r2, r4, r9, r0\n\tsmlad r0, r4, r6, r0\n\t"                               \
  ".else\n\t"                                                                      \
  "smlad r0, r4, r6, r0\n\tsmlad r2, r4, r9, r2\n\t"                               \
  ".endif\n\t"                                                                     \
  "sxtb16 r4, r4\n\t"                                                              \
  "smlad r0, r4, r8, r0\n\tsmlad r2, r4, r10, r2\n\t"
#define TA_I8_C21                                                                  \
  "ldrd r4, r5, [r11], #8\n\t"                                                     \
  "ldrd r6, r8, [r12, #.Lta_o]\n\t"                                                \
  "smlad r0, r4, r6, r0\n\tsmlad r1, r5, r6, r1\n\t"                               \
  "sxtb16 r4, r4\n\tsxtb16 r5, r5\n\t"                                             \
  "smlad r0, r4, r8, r0\n\tsmlad r1, r5, r8, r1\n\t"
#define TA_I8_C11                                                                  \
  "ldr r4, [r11], #4\n\t"                                                          \
  "ldrd r6, r8, [r12, #.Lta_o]\n\t"                                                \
  "smlad r0, r4, r6, r0\n\tsxtb16 r4, r4\n\tsmlad r0, r4, r8, r0\n\t"
// Kernel row ky, group g of a pixel is at ky * row_stride + 8 g.
#define TA_I8_CBODY(GROUP)              \
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
inline constexpr std::size_t conv_pixel_step = Geo::col_step * Geo::entry_bytes;

template <class Geo>
inline constexpr bool conv_pairs_fast = Geo::block == 2 && Geo::groups <= 64 &&
                                        (Geo::kh - 1) * Geo::row_stride + 8 * (Geo::row_groups - 1) +
                                                conv_pixel_step<Geo> <= 1020;

// One output row: pixels two at a time, all channels two at a time (then one
// if F is odd); an odd last pixel alone.
template <class Geo>
__attribute__((noinline)) void conv_row(const std::uint32_t* w, const unsigned char* p0, std::int8_t* y) noexcept {
  using P = typename Geo::packing;
  constexpr std::size_t dp = conv_pixel_step<Geo>;
  const std::uint32_t* const wend = w + P::block_start(P::full_blocks);  // end of the channel pairs
  const unsigned char* const pend = p0 + 2 * dp * (Geo::ow / 2);       // end of the pixel pairs
  asm volatile(
      "ldr r12, %[p0]\n\t"
      "ldr lr, %[y]\n\t"
      ".if %c[pairs]\n\t"
      "1:\n\t"
      "ldr r11, %[w]\n\t"
      ".if %c[cpairs]\n\t"
      "2:\n\t"
      "ldrd r0, r1, [r11], #8\n\t" TA_I8_CBODY(TA_I8_C22)
      "ldrd r4, r5, [r11], #8\n\t" TA_I8_REQ("r0", "r4") TA_I8_REQ("r1", "r5") TA_I8_REQ("r2", "r4")
          TA_I8_REQ("r3", "r5")
      "strb r2, [lr, #%c[f]]\n\t"
      "strb r3, [lr, #(%c[f] + 1)]\n\t"
      "strb r0, [lr], #1\n\t"
      "strb r1, [lr], #1\n\t"
      "ldr r6, %[wend]\n\t"
      "cmp r11, r6\n\t"
      "bne 2b\n\t"
      ".endif\n\t"
      ".if %c[codd]\n\t"
      "ldr r0, [r11], #4\n\t" TA_I8_CBODY(TA_I8_C12)
      "ldr r4, [r11], #4\n\t" TA_I8_REQ("r0", "r4") TA_I8_REQ("r2", "r4")
      "strb r2, [lr, #%c[f]]\n\t"
      "strb r0, [lr], #1\n\t"
      ".endif\n\t"
      "add lr, lr, #%c[f]\n\t"
      "add r12, r12, #(2 * %c[dp])\n\t"
      "ldr r6, %[pend]\n\t"
      "cmp r12, r6\n\t"
      "bne 1b\n\t"
      ".endif\n\t"
      ".if %c[podd]\n\t"
      "ldr r11, %[w]\n\t"
      ".if %c[cpairs]\n\t"
      "5:\n\t"
      "ldrd r0, r1, [r11], #8\n\t" TA_I8_CBODY(TA_I8_C21)
      "ldrd r4, r5, [r11], #8\n\t" TA_I8_REQ("r0", "r4") TA_I8_REQ("r1", "r5")
      "strb r0, [lr], #1\n\t"
      "strb r1, [lr], #1\n\t"
      "ldr r6, %[wend]\n\t"
      "cmp r11, r6\n\t"
      "bne 5b\n\t"
      ".endif\n\t"
      ".if %c[codd]\n\t"
      "ldr r0, [r11], #4\n\t" TA_I8_CBODY(TA_I8_C11)
      "ldr r4, [r11], #4\n\t" TA_I8_REQ("r0", "r4")
      "strb r0, [lr], #1\n\t"
      ".endif\n\t"
      ".endif\n\t"
      :
      : [w] "m"(w), [p0] "m"(p0), [y] "m"(y), [wend] "m"(wend), [pend] "m"(pend), [kh] "i"(Geo::kh),
        [gr] "i"(Geo::row_groups), [rs] "i"(Geo::row_stride), [dp] "i"(dp), [f] "i"(Geo::f),
        [pairs] "i"(Geo::ow / 2 > 0 ? 1 : 0), [podd] "i"(Geo::ow % 2), [cpairs] "i"(P::full_blocks > 0 ? 1 : 0),
        [codd] "i"(P::rest)
      : TA_I8_CLOBBERS);
}

// Convolutions whose channels have at most 3 groups (e.g. 3x3 on one input
// channel) keep one channel's weights in registers for a whole output row:
// start value r3, raw words r4 r5 r6, their SXTB16 r9 r10 r11, multiplier r8,
// accumulator r0, prepared input r1 r2, input pointer r12, output lr. 12
// instructions per output of 3 groups (9 to 12 multiply-accumulates).
#define TA_I8_CPIXEL                                                  \
  ".if %c[gt] >= 2\n\t"                                               \
  "ldrd r1, r2, [r12, #%c[o1]]\n\t"                                   \
  "smlad r0, r5, r1, r3\n\t"                                          \
  "smlad r0, r10, r2, r0\n\t"                                         \
  ".endif\n\t"                                                        \
  ".if %c[gt] >= 3\n\t"                                               \
  "ldrd r1, r2, [r12, #%c[o2]]\n\t"                                   \
  "smlad r0, r6, r1, r0\n\t"                                          \
  "smlad r0, r11, r2, r0\n\t"                                         \
  ".endif\n\t"                                                        \
  "ldrd r1, r2, [r12], #%c[dp]\n\t"                                   \
  ".if %c[gt] == 1\n\t"                                               \
  "smlad r0, r4, r1, r3\n\t"                                          \
  ".else\n\t"                                                         \
  "smlad r0, r4, r1, r0\n\t"                                          \
  ".endif\n\t"                                                        \
  "smlad r0, r9, r2, r0\n\t" TA_I8_REQ("r0", "r8") "strb r0, [lr], #%c[f]\n\t"

// Pixels per unrolled step of the row loop: the largest divisor of OW up to 16.
constexpr std::size_t row_unroll(std::size_t ow) noexcept {
  std::size_t u = ow < 16 ? ow : 16;
  while (ow % u != 0) --u;
  return u;
}

template <class Geo>
inline constexpr bool conv_stationary_fast = Geo::block == 1 && conv_pixel_step<Geo> <= 1020 && Geo::f <= 255 &&
                                             (Geo::groups - 1) / Geo::row_groups * Geo::row_stride +
                                                     (Geo::groups - 1) % Geo::row_groups * 8 <= 1020;

// Output rows per call of conv_stationary: all of them when a row is short
// enough to unroll (the loop then runs on rows), else one.
template <class Geo>
inline constexpr std::size_t stationary_rows = Geo::ow <= 32 ? Geo::oh : 1;

// `Rows` output rows from the prepared input at p0, channel after channel,
// the channel's weights in registers.
template <class Geo, std::size_t Rows>
__attribute__((noinline)) void conv_stationary(const std::uint32_t* w, const unsigned char* p0,
                                               std::int8_t* y) noexcept {
  using P = typename Geo::packing;
  constexpr std::size_t gt = Geo::groups, gr = Geo::row_groups, dp = conv_pixel_step<Geo>;
  constexpr bool whole_rows = Geo::ow <= 32;
  constexpr std::size_t u = whole_rows ? Geo::ow : row_unroll(Geo::ow);
  // From the end of one output row to the start of the next.
  constexpr std::ptrdiff_t jump = whole_rows ? static_cast<std::ptrdiff_t>(Geo::sh * Geo::row_stride) -
                                                   static_cast<std::ptrdiff_t>(Geo::ow * dp)
                                             : 0;
  const std::uint32_t* const wend = w + P::words;
  const unsigned char* const pend = p0 + Rows * (Geo::ow * dp + static_cast<std::size_t>(jump));
  asm volatile(
      "1:\n\t"
      "ldr r1, %[w]\n\t"
      ".if %c[gt] == 3\n\t"
      "ldm r1!, {r3, r4, r5, r6, r8}\n\t"
      ".elseif %c[gt] == 2\n\t"
      "ldm r1!, {r3, r4, r5, r8}\n\t"
      ".else\n\t"
      "ldm r1!, {r3, r4, r8}\n\t"
      ".endif\n\t"
      "str r1, %[w]\n\t"
      "sxtb16 r9, r4\n\t"
      ".if %c[gt] >= 2\n\t"
      "sxtb16 r10, r5\n\t"
      ".endif\n\t"
      ".if %c[gt] >= 3\n\t"
      "sxtb16 r11, r6\n\t"
      ".endif\n\t"
      "ldr r12, %[p0]\n\t"
      "ldr lr, %[y]\n\t"
      "add r1, lr, #1\n\t"
      "str r1, %[y]\n\t"
      "2:\n\t"
      ".rept %c[u]\n\t" TA_I8_CPIXEL ".endr\n\t"
      ".if %c[jump] > 0\n\t"
      "add r12, r12, #%c[jump]\n\t"
      ".elseif %c[jump] < 0\n\t"
      "sub r12, r12, #-%c[jump]\n\t"
      ".endif\n\t"
      ".if %c[loop]\n\t"
      "ldr r1, %[pend]\n\t"
      "cmp r12, r1\n\t"
      "bne 2b\n\t"
      ".endif\n\t"
      "ldr r1, %[w]\n\t"
      "ldr r2, %[wend]\n\t"
      "cmp r1, r2\n\t"
      "bne 1b\n\t"
      : [w] "+m"(w), [y] "+m"(y)
      : [p0] "m"(p0), [wend] "m"(wend), [pend] "m"(pend), [gt] "i"(gt), [o1] "i"(1 / gr * Geo::row_stride + 1 % gr * 8),
        [o2] "i"(2 / gr * Geo::row_stride + 2 % gr * 8), [dp] "i"(dp), [f] "i"(Geo::f), [u] "i"(u),
        [jump] "i"(jump), [loop] "i"(Rows * Geo::ow > u ? 1 : 0)
      : TA_I8_CLOBBERS);
}

// One row of entries of the prepared input in window mode (C % 4 != 0) when
// every window lies inside the input row: lr bytes from src + SW * C * ox.
template <class Geo>
inline constexpr bool windows_inside = !Geo::direct && Geo::pl == 0 && (Geo::ow - 1) * Geo::sw + Geo::kw <= Geo::w &&
                                       Geo::ow <= 64 && Geo::sw * Geo::c <= 255 && Geo::lr <= 256;

template <class Geo>
__attribute__((noinline)) void prepare_windows(const std::int8_t* src, std::uint32_t* dst) noexcept {
  asm volatile(
      "ldr r9, %[src]\n\t"
      "ldr r10, %[dst]\n\t"
      ".rept %c[ow]\n\t"
      ".if %c[gr] == 1\n\t"
      "ldr r1, [r9], #%c[step]\n\t"
      "sxtb16 r0, r1, ror #8\n\t"
      "rev16 r1, r1\n\t"
      "eor r1, r1, #0x007f007f\n\t"
      "strd r0, r1, [r10], #8\n\t"
      ".else\n\t"
      ".set .Lta_o, 0\n\t"
      ".rept %c[gr]\n\t"
      "ldr r1, [r9, #.Lta_o]\n\t"
      "sxtb16 r0, r1, ror #8\n\t"
      "rev16 r1, r1\n\t"
      "eor r1, r1, #0x007f007f\n\t"
      "strd r0, r1, [r10], #8\n\t"
      ".set .Lta_o, .Lta_o + 4\n\t"
      ".endr\n\t"
      "add r9, r9, #%c[step]\n\t"
      ".endif\n\t"
      ".endr\n\t"
      :
      : [src] "m"(src), [dst] "m"(dst), [ow] "i"(Geo::ow), [gr] "i"(Geo::row_groups), [step] "i"(Geo::sw * Geo::c)
      : TA_I8_CLOBBERS);
}

// mono3x3 (one input channel, 3x3, stride 1). The nine taps of an output
// take five SMLADs on 16-bit pairs: three vertical pairs V(c) = [x(r, c),
// x(r + 1, c)] of kernel rows 0 and 1, and two horizontal pairs H(c) =
// [x(r + 2, c), x(r + 2, c + 1)] of kernel row 2. Output column c needs V(c),
// V(c + 1), V(c + 2), H(c), H(c + 1): walking along a row, each output loads
// only V(c + 2) and H(c + 1) (one LDRD) and keeps the rest in registers. With
// one channel's weights in registers that is 8 instructions per 9 MACs:
// LDRD, 5 SMLAD, SSAT, STRB.
//
// Prepared input, per output row: entries [V(c), H(c - 1)] for c = 0 .. OW + 1
// (H(-1) is never used).
template <class Geo>
inline constexpr std::size_t mono_row_entries = Geo::ow + 2;
// Columns prepared per step of the interior path (below).
inline constexpr std::size_t mono_chunk = 4;
template <class Geo>
inline constexpr std::size_t mono_chunks = (mono_row_entries<Geo> + mono_chunk - 1) / mono_chunk;
template <class Geo>
inline constexpr std::size_t mono_scratch_bytes =
    (Geo::oh * mono_row_entries<Geo> + mono_chunks<Geo> * mono_chunk - mono_row_entries<Geo>) * 8;

// The kernel unrolls a whole output row (8 instructions per output).
template <class Geo>
inline constexpr bool mono_fast = Geo::mono3x3 && Geo::ow <= 64 && Geo::f <= 255;
// Unpadded inputs are prepared by a SIMD routine that reads whole words
// (up to 3 bytes past the input: its last word starts at column
// 4 (chunks - 1) + 1 of the last row), else entry by entry.
template <class Geo>
inline constexpr bool mono_interior = Geo::pt == 0 && Geo::pl == 0 && mono_chunk * (mono_chunks<Geo> - 1) + 2 <= Geo::w &&
                                      2 * Geo::w + mono_chunk * mono_chunks<Geo> <= 4000;

// Entry by entry, with zero padding.
template <class Geo>
inline void prepare_mono_padded(const std::int8_t* x, std::int8_t zp, std::uint32_t* t) noexcept {
  const auto at = [&](std::ptrdiff_t iy, std::ptrdiff_t ix) -> std::int32_t {
    const bool in = iy >= 0 && iy < static_cast<std::ptrdiff_t>(Geo::h) && ix >= 0 &&
                    ix < static_cast<std::ptrdiff_t>(Geo::w);
    return in ? x[static_cast<std::size_t>(iy) * Geo::w + static_cast<std::size_t>(ix)] : zp;
  };
  for (std::size_t oy = 0; oy < Geo::oh; ++oy) {
    const std::ptrdiff_t r = static_cast<std::ptrdiff_t>(oy) - static_cast<std::ptrdiff_t>(Geo::pt);
    for (std::size_t c = 0; c < mono_row_entries<Geo>; ++c, t += 2) {
      const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(c) - static_cast<std::ptrdiff_t>(Geo::pl);
      t[0] = mono3x3::pair(at(r, ix), at(r + 1, ix));
      t[1] = c == 0 ? 0u : mono3x3::pair(at(r + 2, ix - 1), at(r + 2, ix));
    }
  }
}

// Four columns c .. c + 3 of one output row from whole-word loads:
// pkhbt([a0 a1 a2 a3], [b0 b1 b2 b3] << 16) = [a0 a1 b0 b1] gives V(c) and
// V(c + 1) by SXTB16 (bytes 0, 2) and SXTB16 ROR 8 (bytes 1, 3); a word
// [x0 x1 x2 x3] of kernel row 2 with itself << 8 gives [x0 x1 x1 x2], hence
// H(c - 1) and H(c). r12 points to input row r, r10 to the entries.
template <class Geo>
__attribute__((noinline)) void prepare_mono_interior(const std::int8_t* x, std::uint32_t* t) noexcept {
  const std::int8_t* const xend = x + Geo::oh * Geo::w;
  asm volatile(
      "ldr r12, %[x]\n\t"
      "ldr r10, %[t]\n\t"
      "1:\n\t"
      ".set .Lta_c, 0\n\t"
      ".rept %c[chunks]\n\t"
      "ldr r9, [r12, #.Lta_c]\n\t"
      "ldr r11, [r12, #(%c[w] + .Lta_c)]\n\t"
      "pkhbt lr, r9, r11, lsl #16\n\t"
      "pkhtb r9, r11, r9, asr #16\n\t"
      "sxtb16 r0, lr\n\t"
      "sxtb16 r2, lr, ror #8\n\t"
      "sxtb16 r4, r9\n\t"
      "sxtb16 r6, r9, ror #8\n\t"
      "ldr r9, [r12, #(2 * %c[w] - 1 + .Lta_c)]\n\t"
      "ldr r11, [r12, #(2 * %c[w] + 1 + .Lta_c)]\n\t"
      "pkhbt r9, r9, r9, lsl #8\n\t"
      "pkhbt r11, r11, r11, lsl #8\n\t"
      "sxtb16 r1, r9\n\t"
      "sxtb16 r3, r9, ror #8\n\t"
      "sxtb16 r5, r11\n\t"
      "sxtb16 r8, r11, ror #8\n\t"
      "stm r10!, {r0, r1, r2, r3, r4, r5, r6, r8}\n\t"
      ".set .Lta_c, .Lta_c + 4\n\t"
      ".endr\n\t"
      ".if %c[over]\n\t"
      "sub r10, r10, #%c[over]\n\t"
      ".endif\n\t"
      "add r12, r12, #%c[w]\n\t"
      "ldr r0, %[xend]\n\t"
      "cmp r12, r0\n\t"
      "bne 1b\n\t"
      :
      : [x] "m"(x), [t] "m"(t), [xend] "m"(xend), [w] "i"(Geo::w), [chunks] "i"(mono_chunks<Geo>),
        [over] "i"((mono_chunks<Geo> * mono_chunk - mono_row_entries<Geo>) * 8)
      : TA_I8_CLOBBERS);
}

// One output (see above): a b c the registers of V(col), V(col + 1),
// V(col + 2), h0 h1 those of H(col), H(col + 1); the sum replaces V(col).
// Weights: start r5, pairs r6 r8 r9 r10 r11; input r12, output lr.
#define TA_I8_MONO_PIXEL(a, b, c, h0, h1)               \
  "ldrd " c ", " h1 ", [r12], #8\n\t"                  \
  "smlad " a ", " a ", r6, r5\n\t"                     \
  "smlad " a ", " b ", r8, " a "\n\t"                  \
  "smlad " a ", " c ", r9, " a "\n\t"                  \
  "smlad " a ", " h0 ", r10, " a "\n\t"                \
  "smlad " a ", " h1 ", r11, " a "\n\t"                \
  "ssat " a ", #8, " a ", asr #15\n\t"                 \
  "strb " a ", [lr], #%c[f]\n\t"
// V registers r0 r2 r4 and H registers r3 r1 in turn: six outputs.
#define TA_I8_MONO_P0 TA_I8_MONO_PIXEL("r0", "r2", "r4", "r3", "r1")
#define TA_I8_MONO_P1 TA_I8_MONO_PIXEL("r2", "r4", "r0", "r1", "r3")
#define TA_I8_MONO_P2 TA_I8_MONO_PIXEL("r4", "r0", "r2", "r3", "r1")
#define TA_I8_MONO_P3 TA_I8_MONO_PIXEL("r0", "r2", "r4", "r1", "r3")
#define TA_I8_MONO_P4 TA_I8_MONO_PIXEL("r2", "r4", "r0", "r3", "r1")
#define TA_I8_MONO_P5 TA_I8_MONO_PIXEL("r4", "r0", "r2", "r1", "r3")

// All channels, channel after channel, all rows of each.
template <class Geo>
__attribute__((noinline)) void conv_mono3x3(const std::uint32_t* w, const std::uint32_t* t, std::int8_t* y) noexcept {
  const std::uint32_t* const wend = w + Geo::f * mono3x3::words_per_channel;
  const std::uint32_t* const tend = t + Geo::oh * mono_row_entries<Geo> * 2;
  asm volatile(
      "1:\n\t"
      "ldr r0, %[w]\n\t"
      "ldm r0!, {r5, r6, r8, r9, r10, r11}\n\t"
      "str r0, %[w]\n\t"
      "ldr r12, %[t]\n\t"
      "ldr lr, %[y]\n\t"
      "add r0, lr, #1\n\t"
      "str r0, %[y]\n\t"
      "2:\n\t"
      // V(0), H(-1) (unused), V(1), H(0).
      "ldm r12!, {r0, r1, r2, r3}\n\t"
      ".rept %c[sixes]\n\t" TA_I8_MONO_P0 TA_I8_MONO_P1 TA_I8_MONO_P2 TA_I8_MONO_P3 TA_I8_MONO_P4 TA_I8_MONO_P5
      ".endr\n\t"
      ".if %c[rest] >= 1\n\t" TA_I8_MONO_P0 ".endif\n\t"
      ".if %c[rest] >= 2\n\t" TA_I8_MONO_P1 ".endif\n\t"
      ".if %c[rest] >= 3\n\t" TA_I8_MONO_P2 ".endif\n\t"
      ".if %c[rest] >= 4\n\t" TA_I8_MONO_P3 ".endif\n\t"
      ".if %c[rest] >= 5\n\t" TA_I8_MONO_P4 ".endif\n\t"
      "ldr r0, %[tend]\n\t"
      "cmp r12, r0\n\t"
      "bne 2b\n\t"
      "ldr r0, %[w]\n\t"
      "ldr r1, %[wend]\n\t"
      "cmp r0, r1\n\t"
      "bne 1b\n\t"
      : [w] "+m"(w), [y] "+m"(y)
      : [t] "m"(t), [tend] "m"(tend), [wend] "m"(wend), [f] "i"(Geo::f), [sixes] "i"(Geo::ow / 6),
        [rest] "i"(Geo::ow % 6)
      : TA_I8_CLOBBERS);
}

template <class Geo>
inline constexpr bool conv_fast = conv_pairs_fast<Geo> || conv_stationary_fast<Geo>;

template <class Geo>
inline constexpr std::size_t conv2d_scratch_bytes =
    Geo::mono3x3 ? (mono_fast<Geo> ? mono_scratch_bytes<Geo> : 0) : (conv_fast<Geo> ? Geo::prepared_bytes : 0);

// Fills the prepared input (see ConvGeometry) from x; outside the input the
// taps read zp.
template <class Geo>
inline void prepare_conv_input(const std::int8_t* x, std::int8_t zp, std::uint32_t* t) noexcept {
  std::uint32_t za, zb;
  prepare_word(static_cast<std::uint8_t>(zp) * 0x01010101u, za, zb);
  constexpr std::size_t entry_words = Geo::entry_bytes / 4;
  for (std::size_t iy = 0; iy < Geo::hp; ++iy) {
    std::uint32_t* row = t + iy * Geo::row_entries * entry_words;
    const bool row_in = iy >= Geo::pt && iy - Geo::pt < Geo::h;
    const std::int8_t* xrow = x + (iy - Geo::pt) * Geo::w * Geo::c;  // used only when row_in
    if constexpr (Geo::direct) {
      // Left padding, the input row, right padding.
      constexpr std::size_t left = Geo::pl < Geo::wp ? Geo::pl : Geo::wp;
      constexpr std::size_t mid = Geo::wp - left < Geo::w ? Geo::wp - left : Geo::w;
      const std::size_t n_in = row_in ? mid : 0;
      for (std::size_t i = 0; i < left * entry_words; i += 2) row[i] = za, row[i + 1] = zb;
      if constexpr (mid > 0)
        if (row_in) prepare<mid * Geo::c / 4>(xrow, row + left * entry_words);
      for (std::size_t i = (left + n_in) * entry_words; i < Geo::wp * entry_words; i += 2) row[i] = za, row[i + 1] = zb;
    } else {
      if constexpr (windows_inside<Geo>) {
        if (row_in) {
          prepare_windows<Geo>(xrow, row);
          continue;
        }
      }
      for (std::size_t ox = 0; ox < Geo::ow; ++ox) {
        std::uint32_t* e = row + ox * entry_words;
        const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * Geo::sw) - static_cast<std::ptrdiff_t>(Geo::pl);
        if (row_in && ix0 >= 0 && ix0 + static_cast<std::ptrdiff_t>(Geo::kw) <= static_cast<std::ptrdiff_t>(Geo::w)) {
          // The whole kernel row is inside: lr bytes straight from the input
          // (the padding taps read what follows; their weights are zero).
          const std::int8_t* src = xrow + static_cast<std::size_t>(ix0) * Geo::c;
          for (std::size_t g = 0; g < Geo::row_groups; ++g) {
            std::uint32_t v;
            std::memcpy(&v, src + 4 * g, 4);
            prepare_word(v, e[2 * g], e[2 * g + 1]);
          }
        } else {
          for (std::size_t g = 0; g < Geo::row_groups; ++g) {
            std::uint32_t v = 0;
            for (std::size_t k = 0; k < 4; ++k) {
              const std::size_t j = 4 * g + k;
              const std::ptrdiff_t ix = ix0 + static_cast<std::ptrdiff_t>(j / Geo::c);
              const bool in = row_in && j < Geo::row_taps && ix >= 0 && ix < static_cast<std::ptrdiff_t>(Geo::w);
              const std::int8_t b = in ? xrow[static_cast<std::size_t>(ix) * Geo::c + j % Geo::c] : zp;
              v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(b)) << (8 * k);
            }
            prepare_word(v, e[2 * g], e[2 * g + 1]);
          }
        }
      }
    }
  }
}

template <class Geo>
inline void conv2d(const std::int8_t* x, std::int8_t zp, const std::uint32_t* packed, std::int8_t* y,
                   void* scratch) noexcept {
  if constexpr (Geo::mono3x3) {
    if constexpr (!mono_fast<Geo>) {
      portable::conv2d_mono3x3<Geo>(x, zp, packed, y);
    } else {
      auto* t = static_cast<std::uint32_t*>(scratch);
      if constexpr (mono_interior<Geo>)
        prepare_mono_interior<Geo>(x, t);
      else
        prepare_mono_padded<Geo>(x, zp, t);
      conv_mono3x3<Geo>(packed, t, y);
    }
  } else if constexpr (!conv_fast<Geo>) {
    portable::conv2d<Geo>(x, zp, packed, y, scratch);
  } else {
    auto* t = static_cast<std::uint32_t*>(scratch);
    prepare_conv_input<Geo>(x, zp, t);
    const auto* base = reinterpret_cast<const unsigned char*>(t);
    if constexpr (conv_pairs_fast<Geo>) {
      for (std::size_t oy = 0; oy < Geo::oh; ++oy)
        conv_row<Geo>(packed, base + oy * Geo::sh * Geo::row_stride, y + oy * Geo::ow * Geo::f);
    } else {
      constexpr std::size_t rows = stationary_rows<Geo>;
      for (std::size_t oy = 0; oy < Geo::oh; oy += rows)
        conv_stationary<Geo, rows>(packed, base + oy * Geo::sh * Geo::row_stride, y + oy * Geo::ow * Geo::f);
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

#undef TA_I8_CLOBBERS
#undef TA_I8_REQ
#undef TA_I8_PREP4
#undef TA_I8_PREP1
#undef TA_I8_PREPARE
#undef TA_I8_XU
#undef TA_I8_XL
#undef TA_I8_D4
#undef TA_I8_D3
#undef TA_I8_D2
#undef TA_I8_D1
#undef TA_I8_DGROUPS
#undef TA_I8_C22
#undef TA_I8_C12
#undef TA_I8_C21
#undef TA_I8_C11
#undef TA_I8_CBODY
#undef TA_I8_CPIXEL
#undef TA_I8_MONO_PIXEL
#undef TA_I8_MONO_P0
#undef TA_I8_MONO_P1
#undef TA_I8_MONO_P2
#undef TA_I8_MONO_P3
#undef TA_I8_MONO_P4
#undef TA_I8_MONO_P5

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
