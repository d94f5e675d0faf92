import FCNConvert
import FCNImage
import FCNImport
import FCNModel
import FCNRuntime
import Foundation
import Testing
import _FCNTestSupport

/// The bundled model finds the digits of the bundled demo scene, whose positions
/// scripts/train_bundled_model.py recorded in models/demo-scene.json.
@Suite struct DemoSceneTests {
    struct Scene: Decodable {
        struct Digit: Decodable {
            let label: Int
            let centerRow: Double
            let centerCol: Double
            let cellRow: Int
            let cellCol: Int
        }

        let digits: [Digit]
    }

    @Test func heatmapFindsTheDigitsAndIsQuietElsewhere() throws {
        let models = Fixtures.repositoryRoot.appendingPathComponent("models")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let scene = try decoder.decode(Scene.self, from: Data(contentsOf: models.appendingPathComponent("demo-scene.json")))
        let model = try Convolutionalizer.convert(try ModelImporter.load(path: models.appendingPathComponent("digits-lenet.h5").path))
        let image = try PixelImage.read(path: models.appendingPathComponent("demo-scene.png").path)
        let input = Preprocessing(preset: .unit).input(from: image, channels: 1)
        let grid = MapImage(framework: try Executor(model: model, threads: 2).run(input.tensor(for: model.network)), format: .channelsLast)
        func top(_ row: Int, _ column: Int) -> Int {
            let scores = grid.cell(row: row, column: column)
            return scores.indices.max { scores[$0] < scores[$1] }!
        }
        let found = scene.digits.filter { top($0.cellRow, $0.cellCol) == $0.label }.count
        #expect(Double(found) >= 0.9 * Double(scene.digits.count), "\(found) of \(scene.digits.count) digits found")

        // Cells whose receptive-field centre (4i + 13.5) is at least 14 px from every digit centre.
        var far = 0
        var background = 0
        for row in 0..<grid.size.height {
            for column in 0..<grid.size.width {
                let (y, x) = (4 * Double(row) + 13.5, 4 * Double(column) + 13.5)
                guard scene.digits.allSatisfy({ max(abs($0.centerRow - y), abs($0.centerCol - x)) >= 14 }) else { continue }
                far += 1
                if top(row, column) == 10 { background += 1 }
            }
        }
        #expect(far > 1000)
        #expect(Double(background) >= 0.9 * Double(far), "\(background) of \(far) far cells are background")
    }
}
