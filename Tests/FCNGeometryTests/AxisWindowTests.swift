import FCNModel
import Testing

/// The window arithmetic, checked against TensorFlow's documented `same` rule
/// (out = ⌈n / s⌉, total padding (out − 1)·s + k − n, the smaller half first) and Caffe's
/// pooling rule (ceil, then drop a last window that starts in the padding).
@Suite struct AxisWindowTests {
    @Test(arguments: [
        // (input, kernel, stride, before, after, outputs)
        (5, 3, 2, 1, 1, 3), (6, 3, 2, 0, 1, 3), (7, 4, 1, 1, 2, 7), (4, 1, 3, 0, 0, 2), (2, 5, 1, 2, 2, 2),
    ])
    func samePaddingSplitsLikeTensorFlow(input: Int, kernel: Int, stride: Int, before: Int, after: Int, outputs: Int) {
        let window = AxisWindow(kernel: kernel, stride: stride)
        let padding = window.padding(inputLength: input, mode: .same)
        #expect(padding.before == before && padding.after == after)
        #expect(window.outputLength(inputLength: input, mode: .same) == outputs)
    }

    @Test func floorAndCeilRounding() {
        let floor = AxisWindow(kernel: 3, stride: 2)
        let ceil = AxisWindow(kernel: 3, stride: 2, rounding: .ceil)
        #expect(floor.outputLength(inputLength: 55, mode: .valid) == 27)
        #expect(ceil.outputLength(inputLength: 55, mode: .valid) == 27)
        #expect(floor.outputLength(inputLength: 58, mode: .valid) == 28)
        #expect(ceil.outputLength(inputLength: 58, mode: .valid) == 29)
    }

    @Test func ceilDropsAWindowThatWouldStartInThePadding() {
        let window = AxisWindow(kernel: 2, stride: 2, rounding: .ceil)
        #expect(window.outputLength(inputLength: 4, mode: .explicit(before: 1, after: 1)) == 3)
        #expect(window.outputLength(inputLength: 3, mode: .explicit(before: 1, after: 1)) == 2)
    }

    @Test func dilationWidensTheKernel() {
        let window = AxisWindow(kernel: 3, stride: 1, dilation: 2)
        #expect(window.effectiveKernel == 5)
        #expect(window.outputLength(inputLength: 9, mode: .valid) == 5)
    }

    @Test func aWindowLargerThanItsInputDoesNotFit() {
        #expect(AxisWindow(kernel: 5, stride: 1).outputLength(inputLength: 4, mode: .valid) == nil)
    }
}
