import FCNModel

/// A stride-1 convolution dilated by (dh, dw), computed as dh·dw undilated ones, one per phase.
///
/// Output cell `n = c + d·i` (along each axis) reads input cells `n − before + t·d`, all of one
/// phase `p = (c − before) mod d` of the input: output phase c is the undilated convolution of
/// input phase p (its cells p, p + d, …) with `(p − c + before) / d` cells of padding before. So
/// each phase is gathered into a compact map, convolved by the fast kernels of the undilated layer
/// (Winograd, direct, packed GEMM), and scattered back, which is what filter rarefaction's dilated
/// layers run on.
struct PhasedConvolution {
    /// One phase along both axes: where its cells start in the whole input and output, its
    /// compact sizes and the padding of its undilated convolution.
    struct Phase {
        let inputStart: (row: Int, column: Int)
        let input: Size2D
        let outputStart: (row: Int, column: Int)
        let output: Size2D
        let padding: EdgePadding
    }

    let dilation: Size2D
    let inputChannels: Int
    let outputChannels: Int
    let inputWidth: Int
    let outputWidth: Int
    let phases: [Phase]
    /// The floats of the largest gathered input and computed output, each a whole number of cache lines.
    let inputFloats: Int
    let outputFloats: Int

    /// The phases of a convolution with `kernel` and `dilation` from `input` to `output` with
    /// `padding`; nil when some phase would read padding only (tiny inputs).
    init?(dilation: Size2D, kernel: Size2D, input: MapSize, output: MapSize, padding: EdgePadding) {
        /// Along one axis: the phase's first input cell, compact input and output lengths, padding.
        func axis(_ c: Int, d: Int, k: Int, length: Int, outputs: Int, before: Int) -> (start: Int, input: Int, output: Int, before: Int, after: Int)? {
            let count = (outputs - c + d - 1) / d
            let start = ((c - before) % d + d) % d
            let phaseBefore = (start - c + before) / d
            let available = start < length ? (length - start + d - 1) / d : 0
            let needed = count + k - 1 - phaseBefore
            let used = min(available, needed)
            guard used > 0 else { return nil }
            return (start, used, count, phaseBefore, needed - used)
        }
        var phases: [Phase] = []
        var (inputFloats, outputFloats) = (0, 0)
        for row in 0..<min(dilation.height, output.height) {
            guard let vertical = axis(row, d: dilation.height, k: kernel.height, length: input.height, outputs: output.height, before: padding.top)
            else { return nil }
            for column in 0..<min(dilation.width, output.width) {
                guard let horizontal = axis(column, d: dilation.width, k: kernel.width, length: input.width, outputs: output.width,
                                            before: padding.left)
                else { return nil }
                let phase = Phase(inputStart: (vertical.start, horizontal.start), input: Size2D(height: vertical.input, width: horizontal.input),
                                  outputStart: (row, column), output: Size2D(height: vertical.output, width: horizontal.output),
                                  padding: EdgePadding(top: vertical.before, bottom: vertical.after, left: horizontal.before, right: horizontal.after))
                phases.append(phase)
                inputFloats = max(inputFloats, phase.input.height * phase.input.width * input.channels)
                outputFloats = max(outputFloats, phase.output.height * phase.output.width * output.channels)
            }
        }
        self.dilation = dilation
        (inputChannels, outputChannels, inputWidth, outputWidth) = (input.channels, output.channels, input.width, output.width)
        self.phases = phases
        self.inputFloats = inputFloats.rounded(upToMultipleOf: ExecutionPlan.cacheLineFloats)
        self.outputFloats = outputFloats.rounded(upToMultipleOf: ExecutionPlan.cacheLineFloats)
    }

    /// Copies `phase`'s input cells from the whole `input` (HWC) into the compact `target`.
    func gather(_ phase: Phase, from input: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>) {
        for y in 0..<phase.input.height {
            let row = input + ((phase.inputStart.row + y * dilation.height) * inputWidth + phase.inputStart.column) * inputChannels
            let destination = target + y * phase.input.width * inputChannels
            for x in 0..<phase.input.width {
                (destination + x * inputChannels).update(from: row + x * dilation.width * inputChannels, count: inputChannels)
            }
        }
    }

    /// Copies `phase`'s compact output `source` to its cells of the whole `output` (HWC).
    func scatter(_ phase: Phase, from source: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        for i in 0..<phase.output.height {
            let row = output + ((phase.outputStart.row + i * dilation.height) * outputWidth + phase.outputStart.column) * outputChannels
            let origin = source + i * phase.output.width * outputChannels
            for j in 0..<phase.output.width {
                (row + j * dilation.width * outputChannels).update(from: origin + j * outputChannels, count: outputChannels)
            }
        }
    }

    /// The plan step of the undilated convolution of `phase`.
    func step(of phase: Phase) -> ExecutionPlan.Step {
        ExecutionPlan.Step(inputs: [.featureMap(height: phase.input.height, width: phase.input.width, channels: inputChannels)],
                           output: .featureMap(height: phase.output.height, width: phase.output.width, channels: outputChannels),
                           padding: phase.padding)
    }
}
