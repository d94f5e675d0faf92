import FCNConvert
import FCNGeometry
import FCNImport
import FCNModel
import Testing
import _FCNTestSupport

/// Receptive fields from the composition rule, on small hand-built nets and on AlexNet- and
/// VGG16-shaped architectures whose published values are known.
@Suite struct ReceptiveFieldTests {
    private func convolution(_ name: String, kernel: Int, stride: Int = 1, padding: PaddingMode = .valid, filters: Int = 4) -> Layer {
        Layer(name: name, sourceClass: "Conv2D", operation: .convolution(Convolution(
            filters: filters, kernelSize: Size2D(square: kernel), strides: Size2D(square: stride), padding: padding)))
    }

    private func maxPool(_ name: String, size: Int, stride: Int) -> Layer {
        Layer(name: name, sourceClass: "MaxPooling2D", operation: .pooling(Pooling(
            kind: .max, poolSize: Size2D(square: size), strides: Size2D(square: stride))))
    }

    private func network(_ layers: [Layer], input: Int = 16) -> Network {
        Network(name: "test", inputShape: .featureMap(height: input, width: input, channels: 1),
                dataFormat: .channelsLast, layers: layers)
    }

    @Test func composesConvPoolConv() throws {
        let net = network([convolution("c1", kernel: 3), maxPool("p1", size: 2, stride: 2), convolution("c2", kernel: 3)])
        let geometry = try NetworkGeometry(network: net)
        #expect(geometry.layers.map(\.vertical.receptiveField) == [3, 4, 8])
        #expect(geometry.layers.map(\.vertical.jump) == [1, 2, 2])
        #expect(geometry.layers.map(\.vertical.start) == [1, 1.5, 3.5])
        #expect(geometry.layers.map(\.outputSize.height) == [14, 7, 5])
        #expect(geometry.box(row: 2, column: 4) == PixelBox(rows: 4...11, columns: 8...15))
        #expect(geometry.neverPads)
    }

    @Test func paddingMovesTheBoxOutsideTheImage() throws {
        let net = network([convolution("c1", kernel: 3, padding: .same), convolution("c2", kernel: 3, stride: 2, padding: .same)], input: 6)
        let geometry = try NetworkGeometry(network: net)
        // c2 on 6 cells with stride 2: total padding 1, all of it after (TensorFlow's split).
        #expect(geometry.layers[1].padding == EdgePadding(top: 0, bottom: 1, left: 0, right: 1))
        #expect(geometry.layers[1].vertical.padding == 1)
        #expect(geometry.box(row: 0, column: 0) == PixelBox(rows: -1...3, columns: -1...3))
        #expect(!geometry.neverPads)
    }

    @Test func denseAfterFlattenCoversTheFlattenedMap() throws {
        let layers = [
            convolution("c1", kernel: 5), maxPool("p1", size: 2, stride: 2),
            Layer(name: "flatten", sourceClass: "Flatten", operation: .flatten(.heightWidthChannels)),
            Layer(name: "fc1", sourceClass: "Dense", operation: .dense(Dense(units: 8))),
            Layer(name: "fc2", sourceClass: "Dense", operation: .dense(Dense(units: 3, activation: .softmax))),
        ]
        let form = FullyConvolutionalForm(classifier: network(layers, input: 28))
        #expect(form.fates == [.kept, .kept, .removed("the next Dense covers the whole map"), .convolution(kernel: Size2D(square: 12)),
                               .convolution(kernel: Size2D(square: 1))])
        let net = try #require(form.network)
        #expect(try NetworkGeometry(network: net).outputGrid == Size2D(square: 1))
        let large = try NetworkGeometry(network: net, inputSize: Size2D(height: 60, width: 44))
        #expect(large.outputGrid == Size2D(height: 17, width: 9))
        #expect(large.layers.last?.receptiveField == Size2D(square: 28))
        #expect(throws: GeometryError.self) { try NetworkGeometry(network: net, inputSize: Size2D(square: 20)) }
    }

    @Test func aDenseOnlyNetworkIsOneCellAndAReshapeAcrossPositionsIsRefused() throws {
        let net = Network(name: "test", inputShape: .vector(length: 10), dataFormat: .channelsLast, layers: [
            Layer(name: "fc", sourceClass: "Dense", operation: .dense(Dense(units: 3))),
        ])
        let form = FullyConvolutionalForm(classifier: net)
        #expect(form.fates == [.convolution(kernel: Size2D(square: 1))])
        #expect(try NetworkGeometry(network: try #require(form.network)).outputGrid == Size2D(square: 1))
        let reshaping = network([
            convolution("c1", kernel: 3),
            Layer(name: "r", sourceClass: "Reshape", operation: .reshape(.featureMap(height: 7, width: 28, channels: 4))),
            Layer(name: "after", sourceClass: "Activation", operation: .activation(.tanh)),
        ], input: 16)
        let refused = FullyConvolutionalForm(classifier: reshaping)
        #expect(refused.network == nil)
        #expect(refused.refusal?.layer.name == "r")
        #expect(refused.fates[1].refusal?.contains("moves values between positions") == true)
    }

    // MARK: - Published values

    @Test func alexNetMatchesPublishedReceptiveFields() throws {
        let model = try ModelImporter.load(path: Fixtures.path("models/alexnet_deploy.prototxt"))
        let fcn = try #require(FullyConvolutionalForm(classifier: model.network).network)
        let geometry = try NetworkGeometry(network: fcn)
        let byName = Dictionary(uniqueKeysWithValues: zip(fcn.layers.map(\.name), geometry.layers))
        #expect(byName["pool5"]?.receptiveField == Size2D(square: 195))
        #expect(byName["pool5"]?.jump == Size2D(square: 32))
        #expect(byName["fc6"]?.receptiveField == Size2D(square: 355))
        // Caffe's ceil pooling: 451² gives an 8×8 grid, 500² gives 10×10.
        #expect(try NetworkGeometry(network: fcn, inputSize: Size2D(square: 451)).outputGrid == Size2D(square: 8))
        #expect(try NetworkGeometry(network: fcn, inputSize: Size2D(square: 500)).outputGrid == Size2D(square: 10))
    }

    @Test func vgg16MatchesPublishedReceptiveFields() throws {
        let model = try ModelImporter.load(path: Fixtures.path("models/vgg16.json"))
        let fcn = try #require(FullyConvolutionalForm(classifier: model.network).network)
        let geometry = try NetworkGeometry(network: fcn)
        let byName = Dictionary(uniqueKeysWithValues: zip(fcn.layers.map(\.name), geometry.layers))
        #expect(byName["block5_pool"]?.receptiveField == Size2D(square: 212))
        #expect(byName["block5_pool"]?.jump == Size2D(square: 32))
        #expect(byName["fc1"]?.receptiveField == Size2D(square: 404))
        // Keras's floor pooling: 500² gives 9×9.
        #expect(try NetworkGeometry(network: fcn, inputSize: Size2D(square: 500)).outputGrid == Size2D(square: 9))
    }
}
