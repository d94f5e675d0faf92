import ArgumentParser
import FCNDensity
import FCNGeometry
import FCNModel

/// `--density`, shared by the commands that run or describe the FCN's grid.
struct DensityArguments: ParsableArguments {
    @Option(help: """
        Output cells per cell of the network's own grid, per axis: F or FhxFw (the grid's stride becomes jump/F; \
        F must divide the jump). Computed in one pass by filter rarefaction; see docs/density.md.
        """)
    var density: Density?

    /// The density asked for, 1 when none.
    var value: Density { density ?? .single }
}

extension Density: ExpressibleByArgument {
    public init?(argument: String) { self.init(text: argument) }
}
