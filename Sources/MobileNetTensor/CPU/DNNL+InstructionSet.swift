import CDNNL

extension CPUEngine {
    /// The instruction set oneDNN dispatches to in this process, as oneDNN names it
    /// (`avx512_core_bf16`, `avx512_core`, `avx2`, …): the best the CPU has, or less where
    /// `ONEDNN_MAX_CPU_ISA` (or `DNNL_MAX_CPU_ISA`) caps it. `ONEDNN_MAX_CPU_ISA=AVX2` on an AVX-512
    /// machine computes as an AVX2-only CPU does. oneDNN fixes it at its first use.
    public static var instructionSet: String {
        let name = String(cString: dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()))
        return name.hasPrefix("cpu_isa_") ? String(name.dropFirst("cpu_isa_".count)) : name
    }

    /// The instruction-set tag that oneDNN 2.x's float32 convolution and pooling kernels carry in
    /// their names on this CPU (`brgconv_1x1:avx512_core`, `jit_dw:avx2`), or nil where there is
    /// no single one to expect.
    ///
    /// `avx512_core` serves every AVX-512 CPU from Skylake on (VNNI, BF16 and AMX add int8 and
    /// bfloat16 kernels only) and `avx2` every AVX2 one (AVX2-VNNI is int8 only). Below AVX2, and
    /// on the Xeon Phi sets (`avx512_mic*`), oneDNN mixes levels (an `avx` direct convolution
    /// beside an `sse41` depthwise one), so there is no one tag to expect: nil.
    public static var float32KernelInstructionSet: String? {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core, dnnl_cpu_isa_avx512_core_vnni, dnnl_cpu_isa_avx512_core_bf16,
             dnnl_cpu_isa_avx512_core_amx:
            return "avx512_core"
        case dnnl_cpu_isa_avx2, dnnl_cpu_isa_avx2_vnni:
            return "avx2"
        default:
            return nil
        }
    }

    /// Whether oneDNN's int8 kernels here have a u8 x s8 dot-product instruction (VNNI:
    /// `vpdpbusd` on AVX-512 from Cascade Lake, AVX2-VNNI from Alder Lake). With it they sum in
    /// exact int32, the arithmetic ``GraphQuantization`` describes; without it they pair products
    /// in 16 bits (`vpmaddubsw`) and handle s8 sources their own way, and the sums are not exact.
    public static var hasInt8DotProduct: Bool {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_vnni, dnnl_cpu_isa_avx512_core_bf16, dnnl_cpu_isa_avx512_core_amx, dnnl_cpu_isa_avx2_vnni:
            true
        default:
            false
        }
    }
}
