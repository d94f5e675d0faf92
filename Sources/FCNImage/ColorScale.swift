import Foundation
import FCNRuntime

/// Which scores a heatmap maps to the ends of its colour map (`fcn heatmap --scale`).
public enum ColorScale: Sendable, Equatable, CustomStringConvertible {
    /// `probability` for models that end in softmax, `perClass` for the others (logits).
    case auto
    /// 0 to 1, for probabilities.
    case probability
    /// Each class's own lowest to highest score over the grid.
    case perClass
    /// The lowest to the highest score of the whole grid, all classes sharing one scale.
    case global
    /// `low` to `high`, given by the user.
    case fixed(low: Float, high: Float)

    /// Reads `auto`, `probability`, `per-class`, `global` or `LO,HI` (finite numbers, LO < HI).
    public init(parsing text: String) throws(ColorScaleError) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "probability": self = .probability
        case "per-class": self = .perClass
        case "global": self = .global
        default:
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw ColorScaleError(text: text, reason: "expected auto, probability, per-class, global or LO,HI") }
            guard let low = Float(parts[0].trimmingCharacters(in: .whitespaces)), let high = Float(parts[1].trimmingCharacters(in: .whitespaces)),
                  low.isFinite, high.isFinite else {
                throw ColorScaleError(text: text, reason: "LO,HI must be two finite numbers, e.g. -5,5")
            }
            guard low < high else { throw ColorScaleError(text: text, reason: "LO must be less than HI") }
            self = .fixed(low: low, high: high)
        }
    }

    /// The scale `auto` stands for: `probability` when the scores are probabilities (the model
    /// ends in softmax), else `perClass`; any other scale is itself.
    public func resolved(probabilities: Bool) -> ColorScale {
        guard case .auto = self else { return self }
        return probabilities ? .probability : .perClass
    }

    /// The name written in manifests and legends: auto, probability, per-class, global or fixed.
    public var description: String {
        switch self {
        case .auto: "auto"
        case .probability: "probability"
        case .perClass: "per-class"
        case .global: "global"
        case .fixed: "fixed"
        }
    }

    /// The scores that map to the ends of the colour map for class `channel` of `grid`.
    /// Non-finite scores are ignored; a constant range (all scores equal) is widened to
    /// value ± 0.5, so the class shows as the map's middle colour.
    ///
    /// - Precondition: the scale is resolved (not `auto`).
    public func range(ofClass channel: Int, in grid: MapImage) -> ScoreRange {
        switch self {
        case .auto: preconditionFailure("resolve the scale first")
        case .probability: return ScoreRange(low: 0, high: 1)
        case .fixed(let low, let high): return ScoreRange(low: low, high: high)
        case .perClass: return Self.span(stride(from: channel, to: grid.values.count, by: grid.channels).lazy.map { grid.values[$0] })
        case .global: return Self.span(grid.values)
        }
    }

    private static func span(_ values: some Sequence<Float>) -> ScoreRange {
        var (low, high) = (Float.infinity, -Float.infinity)
        for value in values where value.isFinite {
            low = min(low, value)
            high = max(high, value)
        }
        guard low <= high else { return ScoreRange(low: 0, high: 1) }
        return low < high ? ScoreRange(low: low, high: high) : ScoreRange(low: low - 0.5, high: high + 0.5)
    }
}

/// The scores at the two ends of a colour map: `low` at the dark end, `high` at the bright.
public struct ScoreRange: Sendable, Equatable {
    public let low: Float
    public let high: Float

    public init(low: Float, high: Float) {
        precondition(low < high, "an empty score range")
        self.low = low
        self.high = high
    }

    /// Where `value` sits between the ends: 0 at `low`, 1 at `high` (not clamped).
    public func position(of value: Float) -> Float { (value - low) / (high - low) }
}

/// A `--scale` value that is not one of the scales.
public struct ColorScaleError: Error, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "--scale \(text): \(reason)" }
}
