import FCNModel

/// Max and average pooling, global pooling and zero padding on HWC maps.
enum PoolingKernel {
    static func pool(_ pooling: Pooling, input: UnsafePointer<Float>, inputSize: MapSize,
                     output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding, workers: Int = 1) {
        Parallel.split(outputSize.height, workers: workers, minimumShare: 8) { _, rows in
            pool(pooling, input: input, inputSize: inputSize, output: output, outputSize: outputSize, padding: padding, rows: rows)
        }
    }

    /// Pools output rows `rows`. A window of a dilated pooling reads every `dilation`-th cell.
    private static func pool(_ pooling: Pooling, input: UnsafePointer<Float>, inputSize: MapSize,
                             output: UnsafeMutablePointer<Float>, outputSize: MapSize, padding: EdgePadding, rows outputRows: Range<Int>) {
        let channels = inputSize.channels
        let (poolHeight, poolWidth) = (pooling.poolSize.height, pooling.poolSize.width)
        let (dilationY, dilationX) = (pooling.dilation.height, pooling.dilation.width)
        // The padded area's far edge: Caffe's average divides by the window clipped to it.
        let paddedHeight = inputSize.height + padding.bottom
        let paddedWidth = inputSize.width + padding.right
        /// How many taps of a window starting at `start` lie before `limit`.
        func before(_ limit: Int, start: Int, count: Int, dilation: Int) -> Int {
            start < limit ? min(count, (limit - 1 - start) / dilation + 1) : 0
        }
        /// The taps of a window starting at `start` that fall inside `0..<limit`.
        func taps(start: Int, count: Int, dilation: Int, limit: Int) -> Range<Int> {
            let first = start < 0 ? (-start + dilation - 1) / dilation : 0
            return first..<max(first, before(limit, start: start, count: count, dilation: dilation))
        }
        var sums = [Float](repeating: 0, count: channels)
        for outputY in outputRows {
            let startY = outputY * pooling.strides.height - padding.top
            let rows = taps(start: startY, count: poolHeight, dilation: dilationY, limit: inputSize.height)
            for outputX in 0..<outputSize.width {
                let startX = outputX * pooling.strides.width - padding.left
                let columns = taps(start: startX, count: poolWidth, dilation: dilationX, limit: inputSize.width)
                let target = output + (outputY * outputSize.width + outputX) * channels
                let initial: Float = pooling.kind == .max ? -.infinity : 0
                for channel in 0..<channels { sums[channel] = initial }
                for tapY in rows {
                    let y = startY + tapY * dilationY
                    for tapX in columns {
                        let cell = input + (y * inputSize.width + startX + tapX * dilationX) * channels
                        if pooling.kind == .max {
                            for channel in 0..<channels { sums[channel] = max(sums[channel], cell[channel]) }
                        } else {
                            for channel in 0..<channels { sums[channel] += cell[channel] }
                        }
                    }
                }
                let inside = rows.count * columns.count
                if pooling.kind == .max {
                    for channel in 0..<channels { target[channel] = inside > 0 ? sums[channel] : 0 }
                } else {
                    // Caffe's divisor: the taps inside the padded area, from the window's start.
                    let divisor = pooling.averageCountsPadding
                        ? before(paddedHeight, start: startY, count: poolHeight, dilation: dilationY)
                            * before(paddedWidth, start: startX, count: poolWidth, dilation: dilationX)
                        : inside
                    let scale = divisor > 0 ? 1 / Float(divisor) : 0
                    for channel in 0..<channels { target[channel] = sums[channel] * scale }
                }
            }
        }
    }

    static func global(_ kind: PoolingKind, input: UnsafePointer<Float>, inputSize: MapSize, output: UnsafeMutablePointer<Float>) {
        let channels = inputSize.channels
        let positions = inputSize.height * inputSize.width
        for channel in 0..<channels { output[channel] = kind == .max ? -.infinity : 0 }
        for position in 0..<positions {
            let cell = input + position * channels
            for channel in 0..<channels {
                output[channel] = kind == .max ? max(output[channel], cell[channel]) : output[channel] + cell[channel]
            }
        }
        if kind == .average {
            for channel in 0..<channels { output[channel] /= Float(positions) }
        }
    }

    static func zeroPad(_ edges: EdgePadding, input: UnsafePointer<Float>, inputSize: MapSize,
                        output: UnsafeMutablePointer<Float>, outputSize: MapSize) {
        output.update(repeating: 0, count: outputSize.count)
        let rowLength = inputSize.width * inputSize.channels
        for y in 0..<inputSize.height {
            let target = output + ((y + edges.top) * outputSize.width + edges.left) * inputSize.channels
            target.update(from: input + y * rowLength, count: rowLength)
        }
    }
}
