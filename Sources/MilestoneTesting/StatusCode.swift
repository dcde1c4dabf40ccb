public import MilestoneRPC

/// The status code of the ``RPCError`` that `body` throws, nil when it succeeds, UNKNOWN for any other
/// error: for tables of calls and the statuses they must fail with.
public func statusCode(of body: () async throws -> some Any) async -> RPCError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return error.code
    } catch {
        return .unknown
    }
}
