import CDNNL

// oneDNN's C API (version 2.x) is called from the files named `DNNL*.swift` in this folder and
// nowhere else: this one (engine, streams, status), `DNNL+Memory.swift` (memory descriptors and
// objects), `DNNL+Attributes.swift` (post-ops, scratchpad, algorithm choices),
// `DNNL+Primitive.swift` (creating and running primitives), `DNNL+Operations.swift` (the
// operation descriptors of every primitive the engine and the inference plans use) and
// `DNNL+InstructionSet.swift` (the instruction set oneDNN dispatches to). The 2.x to
// 3.x change rewrites the descriptor calls, so that change stays inside these files.

enum DNNL {
    /// The CPU engine, and the stream every primitive runs on except the inference workers' (``Stream``).
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        guard status == dnnl_success, let engine else {
            fatalError("oneDNN could not create its CPU engine: \(String(cString: dnnl_status2str(status)))")
        }
        return engine
    }()

    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var stream: dnnl_stream_t?
        let status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
        guard status == dnnl_success, let stream else {
            fatalError("oneDNN could not create a CPU stream: \(String(cString: dnnl_status2str(status)))")
        }
        return stream
    }()

    /// A stream of its own, for work that runs beside the shared ``stream`` on another thread.
    final class Stream {
        let stream: dnnl_stream_t

        init() throws {
            var stream: dnnl_stream_t?
            try DNNL.check(dnnl_stream_create(&stream, DNNL.engine, dnnl_stream_default_flags.rawValue), "stream")
            guard let stream else { throw TensorError.engineFailure(operation: "stream", status: "no stream") }
            self.stream = stream
        }

        deinit {
            dnnl_stream_destroy(stream)
        }
    }

    /// Waits until the primitives submitted to `stream` have finished.
    static func wait(_ stream: dnnl_stream_t, _ operation: String) throws {
        try check(dnnl_stream_wait(stream), operation + " wait")
    }

    static func check(_ status: dnnl_status_t, _ operation: String) throws {
        guard status == dnnl_success else {
            throw TensorError.engineFailure(operation: operation, status: String(cString: dnnl_status2str(status)))
        }
    }
}
