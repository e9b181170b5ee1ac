// 2-D convolution over H x W x C inputs, weights stored [kh][kw][in_c][out_c].
//
// With channel-last data a kernel row of the input patch, in[iy][ix0..ix1][:],
// is contiguous and meets a contiguous block of weight rows, so every product
// is one of the shared kernels: forward y_pix += Wblkᵀ x_row (gemv_t), input
// gradient dx_row += Wblk dy_pix (gemv), weight gradient Wblk += x_row dy_pixᵀ
// (rank1). Padding is handled by clipping the kernel window, not by copies.
#pragma once
#include "../kernels/kernels.hpp"
#include "layer.hpp"
#include "padding.hpp"
#include "submatrix.hpp"

namespace tinyadapt {

namespace detail {
template <std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t KH, std::size_t KW,
          std::size_t SH, std::size_t SW, Padding P>
struct ConvCore {
  static constexpr std::size_t OH = conv_out(H, KH, SH, P);
  static constexpr std::size_t OW = conv_out(W, KW, SW, P);
  static constexpr std::size_t PT = conv_pad_before(H, KH, SH, P);
  static constexpr std::size_t PL = conv_pad_before(W, KW, SW, P);
  static constexpr std::size_t weight_count = KH * KW * C * F;
  static constexpr std::size_t bias_count = F;
  static constexpr std::size_t fan_in = KH * KW * C;
  static constexpr std::size_t fan_out = KH * KW * F;
  static constexpr std::size_t macs = OH * OW * KH * KW * C * F;  // padding included (upper bound)
  static constexpr bool trainable = true;
  static constexpr bool in_place = false;
  static constexpr bool keeps_input = true;  // dW = sum x_patch dyᵀ
  static constexpr bool keeps_output = false;
  static constexpr std::size_t state_bytes = 0;
  // Each kernel tap sees every input at most once: |dW_tap| <= |x| |dy|; the bias sums OH*OW deltas.
  static constexpr float grad_norm_input_factor = static_cast<float>(KH * KW);
  static constexpr float grad_norm_bias_factor = static_cast<float>(OH * OW);

  // Calls f(x_offset, w_offset, length) for every clipped kernel row of output pixel (oy, ox).
  template <class Fn>
  static TINYADAPT_ALWAYS_INLINE void for_each_row(std::size_t oy, std::size_t ox, Fn&& f) noexcept {
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * SH) - static_cast<std::ptrdiff_t>(PT);
    const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * SW) - static_cast<std::ptrdiff_t>(PL);
    const std::size_t kx0 = ix0 < 0 ? static_cast<std::size_t>(-ix0) : 0;
    const std::ptrdiff_t room = static_cast<std::ptrdiff_t>(W) - ix0;  // columns left of the right edge
    const std::size_t kx1 = room < static_cast<std::ptrdiff_t>(KW) ? static_cast<std::size_t>(room) : KW;
    for (std::size_t ky = 0; ky < KH; ++ky) {
      const std::ptrdiff_t iy = iy0 + static_cast<std::ptrdiff_t>(ky);
      if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(H)) continue;
      const std::size_t xo = (static_cast<std::size_t>(iy) * W + static_cast<std::size_t>(ix0 + static_cast<std::ptrdiff_t>(kx0))) * C;
      f(xo, (ky * KW + kx0) * C * F, (kx1 - kx0) * C);
    }
  }

  void forward(const float* p, const float* x, float* y, unsigned char*) const noexcept {
    forward_active(p, x, y, Fixed<C>{}, Fixed<F>{});
  }
  void backward(const float* p, const float* x, const float*, const unsigned char*, const float* dy, float* dx,
                float* dp, float dp_scale) const noexcept {
    backward_active(p, x, dy, dx, dp, dp_scale, Fixed<C>{}, Fixed<F>{});
  }

  // The loops over the active part: input channels [0, ca) and filters
  // [0, fa) (inactive outputs are set to 0). The fixed layer passes ca = C
  // and fa = F: each kernel row is then one call of the kernel, as always.
  template <class CA, class FA>
  static TINYADAPT_ALWAYS_INLINE void forward_active(const float* p, const float* x, float* y, CA ca,
                                                     FA fa) noexcept {
    if constexpr (!is_fixed<FA>::value) {
      if (fa < short_run) {
        with_short_width(fa, [&](auto n) TINYADAPT_INLINE_LAMBDA { forward_short(p, x, y, ca, n); });
        return;
      }
    }
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox) {
        float* yp = y + (oy * OW + ox) * F;
        kernels::copy(yp, p + weight_count, fa);  // the bias; inactive outputs 0
        for (std::size_t f = fa; f < F; ++f) yp[f] = 0.0f;
        for_each_active_row(oy, ox, ca, [&](std::size_t xo, std::size_t wo, std::size_t len) {
          block_gemv_t(p + wo, F, x + xo, yp, len, fa);
        });
      }
  }

  // Fewer than short_run active filters (run-time widths only): a call per
  // kernel row of a few filters would be mostly call overhead on a
  // Cortex-M4. The width becomes a compile-time constant (one instance per
  // width below short_run: up to 15 sums fit the M4's 32 float registers
  // beside their operands; at 16 they spill) and the filters' sums are kept in
  // registers: forward per output pixel, the weight gradient per tap over a
  // row of output pixels. Every output and weight element gets the same terms
  // in the same order as in the pixel loops (taps in (ky, kx, c) order; pixels
  // in order), so the results are the same bits and growth across short_run
  // stays exact.
  static constexpr std::size_t short_run = 16;

  // f(Fixed<fa>{}) for a run-time width 0 < fa < min(short_run, F + 1).
  template <std::size_t N = (short_run < F + 1 ? short_run : F + 1) - 1, class Fn>
  static TINYADAPT_ALWAYS_INLINE void with_short_width(std::size_t fa, Fn&& f) noexcept {
    if constexpr (N > 0) {
      if (fa == N) return f(Fixed<N>{});
      with_short_width<N - 1>(fa, f);
    }
  }

  template <class CA, std::size_t FA>
  static void forward_short(const float* p, const float* x, float* y, CA ca, Fixed<FA>) noexcept {
    const float* b = p + weight_count;
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox) {
        float acc[FA];
        for (std::size_t f = 0; f < FA; ++f) acc[f] = b[f];
        for_each_active_row(oy, ox, ca, [&](std::size_t xo, std::size_t wo, std::size_t len) TINYADAPT_INLINE_LAMBDA {
          for (std::size_t r = 0; r < len; ++r) {
            const float xv = x[xo + r];
            const float* w = p + wo + r * F;
            for (std::size_t f = 0; f < FA; ++f) acc[f] += xv * w[f];
          }
        });
        float* yp = y + (oy * OW + ox) * F;
        for (std::size_t f = 0; f < FA; ++f) yp[f] = acc[f];
        for (std::size_t f = FA; f < F; ++f) yp[f] = 0.0f;
      }
  }

  // dx += W dy per pixel, each kernel row's dot over the FA filters summed
  // in order in a register, as kernels::dot sums it where dot_in_order.
  template <class CA, std::size_t FA>
  static void input_grad_short(const float* p, const float* dy, float* dx, CA ca, Fixed<FA>) noexcept {
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox) {
        const float* gp = dy + (oy * OW + ox) * F;
        float g[FA];
        for (std::size_t f = 0; f < FA; ++f) g[f] = gp[f];
        for_each_active_row(oy, ox, ca, [&](std::size_t xo, std::size_t wo, std::size_t len) TINYADAPT_INLINE_LAMBDA {
          for (std::size_t r = 0; r < len; ++r) {
            const float* w = p + wo + r * F;
            float acc = 0.0f;
            for (std::size_t f = 0; f < FA; ++f) acc += w[f] * g[f];
            dx[xo + r] += acc;
          }
        });
      }
  }

  // dW and db += the sums over the pixels, each tap's FA weights in registers.
  template <class CA, std::size_t FA>
  static void weight_grad_short(const float* x, const float* dy, float* dp, float dp_scale, CA ca,
                                Fixed<FA>) noexcept {
    auto sum_pixels = [&](float* d, const float* gp, const float* xp, std::size_t n, std::size_t xstep)
                          TINYADAPT_INLINE_LAMBDA {
      float acc[FA];
      for (std::size_t f = 0; f < FA; ++f) acc[f] = d[f];
      for (std::size_t i = 0; i < n; ++i, gp += F, xp += xstep) {
        const float xs = dp_scale * *xp;
        for (std::size_t f = 0; f < FA; ++f) acc[f] += xs * gp[f];
      }
      for (std::size_t f = 0; f < FA; ++f) d[f] = acc[f];
    };
    const float one = 1.0f;  // the bias: every pixel's delta times dp_scale
    sum_pixels(dp + weight_count, dy, &one, OH * OW, 0);
    for_each_tap(ca, [&](std::size_t t, std::size_t oy, std::size_t ox0, std::size_t n, std::size_t xo)
                     TINYADAPT_INLINE_LAMBDA { sum_pixels(dp + t * F, dy + (oy * OW + ox0) * F, x + xo, n, SW * C); });
  }

  // f(tap row t = (ky, kx, c), oy, first ox, pixels, x offset of the first)
  // for every active tap row and output row it meets inside the image.
  template <class CA, class Fn>
  static TINYADAPT_ALWAYS_INLINE void for_each_tap(CA ca, Fn&& f) noexcept {
    for (std::size_t ky = 0; ky < KH; ++ky)
      for (std::size_t kx = 0; kx < KW; ++kx) {
        // Output columns whose input column ox*SW - PL + kx lies in [0, W).
        std::size_t ox0 = 0, ox1 = OW;
        while (ox0 < OW && static_cast<std::ptrdiff_t>(ox0 * SW + kx) < static_cast<std::ptrdiff_t>(PL)) ++ox0;
        while (ox1 > ox0 && (ox1 - 1) * SW + kx >= PL + W) --ox1;
        if (ox0 == ox1) continue;
        const std::size_t ix0 = ox0 * SW + kx - PL;
        for (std::size_t c = 0; c < static_cast<std::size_t>(ca); ++c)
          for (std::size_t oy = 0; oy < OH; ++oy) {
            const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * SH + ky) - static_cast<std::ptrdiff_t>(PT);
            if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(H)) continue;
            f((ky * KW + kx) * C + c, oy, ox0, ox1 - ox0, (static_cast<std::size_t>(iy) * W + ix0) * C + c);
          }
      }
  }

  // dx += W dy over the active part (dx zeroed by the caller).
  template <class CA, class FA>
  static TINYADAPT_ALWAYS_INLINE void input_grad(const float* p, const float* dy, float* dx, CA ca, FA fa) noexcept {
    if constexpr (!is_fixed<FA>::value && dot_in_order) {
      if (fa < short_run) {
        with_short_width(fa, [&](auto n) TINYADAPT_INLINE_LAMBDA { input_grad_short(p, dy, dx, ca, n); });
        return;
      }
    }
    for (std::size_t oy = 0; oy < OH; ++oy)
      for (std::size_t ox = 0; ox < OW; ++ox) {
        const float* g = dy + (oy * OW + ox) * F;
        for_each_active_row(oy, ox, ca, [&](std::size_t xo, std::size_t wo, std::size_t len) {
          block_gemv(p + wo, F, g, dx + xo, len, fa, F);
        });
      }
  }

  template <class CA, class FA>
  static TINYADAPT_ALWAYS_INLINE void backward_active(const float* p, const float* x, const float* dy, float* dx,
                                                      float* dp, float dp_scale, CA ca, FA fa) noexcept {
    if (dx) {
      kernels::zero(dx, H * W * C);
      input_grad(p, dy, dx, ca, fa);
    }
    if (dp) {
      if constexpr (!is_fixed<FA>::value) {
        if (fa < short_run) {
          with_short_width(fa, [&](auto n) TINYADAPT_INLINE_LAMBDA { weight_grad_short(x, dy, dp, dp_scale, ca, n); });
          return;
        }
      }
      for (std::size_t oy = 0; oy < OH; ++oy)
        for (std::size_t ox = 0; ox < OW; ++ox) {
          const float* g = dy + (oy * OW + ox) * F;
          kernels::axpy(dp + weight_count, g, dp_scale, fa);
          for_each_active_row(oy, ox, ca, [&](std::size_t xo, std::size_t wo, std::size_t len) {
            block_rank1(dp + wo, F, x + xo, g, dp_scale, len, fa);
          });
        }
    }
  }

  // for_each_row split into runs of the ca active input channels of each
  // kernel column (for_each_row itself when every channel is active).
  template <class CA, class Fn>
  static TINYADAPT_ALWAYS_INLINE void for_each_active_row(std::size_t oy, std::size_t ox, CA ca, Fn&& f) noexcept {
    if constexpr (is_fixed<CA>::value) {
      for_each_row(oy, ox, f);
    } else {
      for_each_row(oy, ox, [&](std::size_t xo, std::size_t wo, std::size_t len) {
        if (ca == C) return f(xo, wo, len);
        for (std::size_t o = 0; o < len; o += C) f(xo + o, wo + o * F, static_cast<std::size_t>(ca));
      });
    }
  }
};
}  // namespace detail

template <std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t K, std::size_t S, Padding P>
struct Conv2DLayer : detail::ConvCore<H, W, C, F, K, K, S, S, P> {
  using core = detail::ConvCore<H, W, C, F, K, K, S, S, P>;
  using input_shape = Shape<H, W, C>;
  using output_shape = Shape<core::OH, core::OW, F>;
};

// Conv2D<Filters, Kernel, Stride, Padding>: square kernel over an H x W x C image.
template <std::size_t Filters, std::size_t Kernel, std::size_t Stride = 1, Padding Pad = Padding::valid>
struct Conv2D {
  static_assert(Filters > 0 && Kernel > 0 && Stride > 0, "Conv2D needs filters, kernel size and stride of at least 1");
  template <class In>
  struct bind_check {
    static_assert(In::rank == 3, "Conv2D needs an image input of shape H x W x C (use Input<H, W, C>)");
    static_assert(Pad == Padding::same || (In::dim(0) >= Kernel && In::dim(1) >= Kernel),
                  "Conv2D kernel is larger than its input with valid padding");
    using type = Conv2DLayer<In::dim(0), In::dim(1), In::dim(2), Filters, Kernel, Stride, Pad>;
  };
  template <class In>
  using bind = typename bind_check<In>::type;
};

}  // namespace tinyadapt
