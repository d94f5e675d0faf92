import CKernels
import Foundation

/// An instruction-set level the runtime's kernels are compiled for, lowest first: `avx512` is
/// AVX-512 F/BW/VL/DQ, `avx2` is AVX2 with FMA, `baseline` is plain x86-64 (or any other CPU).
public enum InstructionSet: String, CaseIterable, Comparable, Sendable, CustomStringConvertible {
    case baseline, avx2, avx512

    /// The highest level this CPU and its OS run (CPUID and XCR0).
    public static let detected = InstructionSet(fcn_detected_isa())

    /// The cap set by the environment variable `FCN_MAX_ISA` (`avx512`, `avx2` or `baseline`),
    /// nil when it is unset or empty; `.failure` with the text when it names no level.
    public static let environmentCap: Result<InstructionSet?, ExecutionError> = {
        guard let text = ProcessInfo.processInfo.environment["FCN_MAX_ISA"], !text.isEmpty else { return .success(nil) }
        guard let level = InstructionSet(rawValue: text.lowercased()) else { return .failure(.unknownInstructionSet(text)) }
        return .success(level)
    }()

    /// The levels an executor can run here: up to `detected`, and up to `FCN_MAX_ISA` when it is valid.
    public static var available: [InstructionSet] {
        let cap = (try? environmentCap.get()).flatMap { $0 } ?? detected
        return allCases.filter { $0 <= min(detected, cap) }
    }

    public static func < (lhs: InstructionSet, rhs: InstructionSet) -> Bool { lhs.level.rawValue < rhs.level.rawValue }

    public var description: String { rawValue }

    init(_ level: fcn_isa) {
        self = Self.allCases.first { $0.level == level } ?? .baseline
    }

    var level: fcn_isa {
        switch self {
        case .baseline: FCN_ISA_BASELINE
        case .avx2: FCN_ISA_AVX2
        case .avx512: FCN_ISA_AVX512
        }
    }
}

/// The kernels and layout constants of one instruction-set level: a view of CKernels' platform
/// table (`fcn_platform`), chosen once per executor. Every kernel asks it; nothing tests CPU
/// features where a kernel is called.
struct Platform: @unchecked Sendable {
    /// Points to a static table that lives as long as the process.
    let table: UnsafePointer<fcn_platform>

    /// The highest level at most `cap`, `FCN_MAX_ISA` and what the CPU runs.
    init(cap: InstructionSet?) throws(ExecutionError) {
        let environment = try InstructionSet.environmentCap.get()
        let level = [cap, environment].compactMap { $0 }.reduce(InstructionSet.detected, min)
        table = fcn_platform_table(level.level)
    }

    var instructionSet: InstructionSet { InstructionSet(table.pointee.isa) }
    /// Bytes to which buffers, packed weights and per-worker scratch are aligned.
    var alignment: Int { table.pointee.alignment }
    /// The direct convolution and the filters per panel it packs, nil when the level has none.
    var directConvolution: (function: fcn_direct_convolution_function, panelWidth: Int)? {
        table.pointee.direct_convolution.map { ($0, Int(table.pointee.direct_panel_width)) }
    }
    /// The packed GEMM, its packing and the columns per panel, nil when the level has none.
    var packedGemm: (function: fcn_packed_gemm_function, pack: fcn_pack_gemm_function, panelWidth: Int)? {
        guard let function = table.pointee.packed_gemm, let pack = table.pointee.pack_gemm else { return nil }
        return (function, pack, Int(table.pointee.gemm_panel_width))
    }
    var winogradKernel: fcn_winograd_kernel_function { table.pointee.winograd_kernel }
    var winogradInput: fcn_winograd_input_function { table.pointee.winograd_input }
    var winogradOutput: fcn_winograd_output_function { table.pointee.winograd_output }
}

/// Floats in one allocation aligned to a platform's alignment, for packed weights and workspace
/// buffers. Immutable after `init`'s `fill`, so it can be shared among the workers.
final class AlignedFloats: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let count: Int

    /// `count` floats aligned to `alignment` bytes, written by `fill` (left uninitialized without it).
    init(count: Int, alignment: Int, fill: ((UnsafeMutablePointer<Float>) -> Void)? = nil) {
        base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.size, alignment: alignment)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        fill?(base)
    }

    /// `values` packed by fcn_pack_panels: a (depth × columns) row-major matrix in panels of `width` columns.
    convenience init(packing values: [Float], depth: Int, columns: Int, width: Int, alignment: Int) {
        self.init(count: fcn_packed_count(Int32(depth), Int32(columns), Int32(width)), alignment: alignment) { packed in
            fcn_pack_panels(values, Int32(depth), Int32(columns), Int32(width), packed)
        }
    }

    deinit { base.deallocate() }
}

extension Int {
    /// The multiple of `unit` at or above this.
    func rounded(upToMultipleOf unit: Int) -> Int { (self + unit - 1) / unit * unit }
}
