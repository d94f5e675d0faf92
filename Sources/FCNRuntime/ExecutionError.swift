import FCNModel

/// Why a network could not be run on an input.
public enum ExecutionError: Error, Equatable, CustomStringConvertible {
    /// The model was read without weights (an architecture file).
    case noWeights
    /// A layer's weights are missing or contain NaN or infinity.
    case badWeights(layer: String, reason: String)
    /// The input tensor's shape does not fit the model.
    case inputShape(found: [Int], expected: String)
    /// The input contains NaN or infinity.
    case nonFiniteInput(index: Int)
    /// The input is smaller than the network's windows allow.
    case inputTooSmall(ShapeError)
    /// The run needs more memory than the budget and the network cannot run in tiles.
    case overBudget(needed: Int, budget: Int)
    /// `FCN_MAX_ISA` names no instruction-set level.
    case unknownInstructionSet(String)
    /// Even the smallest region of a streaming run (one output cell) needs more than the budget.
    case budgetTooSmall(needed: Int, budget: Int)
    /// A streaming run was stopped at a safe point because its `shouldStop` said so.
    case stopped

    public var description: String {
        switch self {
        case .noWeights:
            return "the model has no weights (was an architecture file given instead of the weights?)"
        case .badWeights(let layer, let reason):
            return "layer '\(layer)': \(reason)"
        case .inputShape(let found, let expected):
            return "the input has shape (\(found.map(String.init).joined(separator: ", "))) but the model takes \(expected)"
        case .nonFiniteInput(let index):
            return "the input contains NaN or infinity (first at flat index \(index))"
        case .inputTooSmall(let error):
            return "the input does not fit the network: \(error)"
        case .overBudget(let needed, let budget):
            return "the run needs \(needed >> 20) MiB of buffers, more than --max-memory \(budget >> 20) MiB, and this network cannot "
                + "run in tiles (it flattens, pools globally or resizes the whole input); raise --max-memory or convert the network"
        case .budgetTooSmall(let needed, let budget):
            return "even one output cell at a time needs \(needed >> 20) MiB of buffers, more than --max-memory \(budget >> 20) MiB; "
                + "raise --max-memory"
        case .stopped:
            return "the run was stopped before it finished"
        case .unknownInstructionSet(let text):
            return "FCN_MAX_ISA is '\(text)', which is none of \(InstructionSet.allCases.map(\.rawValue).joined(separator: ", "))"
        }
    }
}
