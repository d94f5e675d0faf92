import FCNModel
import Testing
import _FCNTestSupport

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
        let ceil = AxisWindow(kernel: 3, stride: 2, rounding: .ceilCaffe)
        #expect(floor.outputLength(inputLength: 55, mode: .valid) == 27)
        #expect(ceil.outputLength(inputLength: 55, mode: .valid) == 27)
        #expect(floor.outputLength(inputLength: 58, mode: .valid) == 28)
        #expect(ceil.outputLength(inputLength: 58, mode: .valid) == 29)
    }

    @Test func ceilDropsAWindowThatWouldStartInThePadding() {
        let window = AxisWindow(kernel: 2, stride: 2, rounding: .ceilCaffe)
        #expect(window.outputLength(inputLength: 4, mode: .explicit(before: 1, after: 1)) == 3)
        #expect(window.outputLength(inputLength: 3, mode: .explicit(before: 1, after: 1)) == 2)
    }

    /// Output lengths ONNX Runtime's MaxPool gives with `ceil_mode` (PyTorch's rule), recorded by
    /// scripts/golden/make_rounding_fixtures.py; Caffe's rule differs where a kernel smaller than
    /// the stride leaves a last window past an unpadded input.
    @Test func pyTorchCeilRoundingMatchesONNXRuntime() throws {
        struct Case: Decodable { let length, kernel, stride, before, after, outputs: Int }
        struct Record: Decodable { let cases: [Case] }
        let cases = (Fixtures.decodeJSON("rounding/ceil_lengths.json") as Record).cases
        #expect(cases.count > 200)
        var differFromCaffe = 0
        for c in cases {
            let mode = AxisPaddingMode.explicit(before: c.before, after: c.after)
            let pyTorch = AxisWindow(kernel: c.kernel, stride: c.stride, rounding: .ceilPyTorch)
            #expect(pyTorch.outputLength(inputLength: c.length, mode: mode) == c.outputs, "\(c)")
            let caffe = AxisWindow(kernel: c.kernel, stride: c.stride, rounding: .ceilCaffe)
            if caffe.outputLength(inputLength: c.length, mode: mode) != c.outputs { differFromCaffe += 1 }
        }
        #expect(differFromCaffe > 0, "the fixture must hold cases where the two ceil rules differ")
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
