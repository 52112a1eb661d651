import CDNNL

/// Weights and biases in the layouts plans chose, shared by all the plans of a session that chose
/// the same layout (the worker plans of ``InferenceSession/BatchParallelism/acrossImages`` all
/// do), so that each is reordered and held once.
final class InferenceConstants {
    /// By the graph tensor's storage (the session's graph keeps it alive): each layout made of it.
    private var made: [ObjectIdentifier: [(layout: dnnl_memory_desc_t, storage: TensorStorage)]] = [:]

    /// Bytes of the reordered copies (the tensors used as they are belong to the graph).
    var bytes: Int {
        made.values.joined().reduce(0) { $0 + DNNL.size(of: $1.layout) }
    }

    /// `source` (laid out as `userLayout`: a graph tensor's storage, or the integer weights of
    /// ``QuantizedParameters``) in `layout`, made on first request.
    func storage(for source: TensorStorage, in layout: dnnl_memory_desc_t, userLayout: dnnl_memory_desc_t) throws -> TensorStorage {
        let key = ObjectIdentifier(source)
        if let found = made[key]?.first(where: { DNNL.equal($0.layout, layout) }) { return found.storage }
        // In the layout it already has (biases, the plain weights of some kernels), the graph's
        // own tensor serves: no second copy.
        if DNNL.equal(layout, userLayout) { return source }
        let storage = TensorStorage(uninitializedCount: (DNNL.size(of: layout) + 3) / 4)
        let reorder = try DNNLPrimitive(reorderFrom: userLayout, to: layout)
        try reorder.execute("weight reorder", [
            .init(DNNL_ARG_FROM, userLayout, source.pointer),
            .init(DNNL_ARG_TO, layout, storage.pointer),
        ])
        made[key, default: []].append((layout, storage))
        return storage
    }
}
