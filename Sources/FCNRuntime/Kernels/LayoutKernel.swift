/// Moves values between the HWC runtime layout and CHW.
enum LayoutKernel {
    /// (channels, positions) → (positions, channels).
    static func transpose(_ input: UnsafePointer<Float>, rows: Int, columns: Int, into output: UnsafeMutablePointer<Float>) {
        for row in 0..<rows {
            for column in 0..<columns {
                output[column * rows + row] = input[row * columns + column]
            }
        }
    }
}
