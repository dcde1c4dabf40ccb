public import Logging
public import MilestoneRPC
public import MilestoneWire
public import ServiceLifecycle

/// Keeps a ``TenantMap`` warm: lists the directory now and then every `interval` until shut down. A failed
/// listing is logged and retried at the next interval; meanwhile lookups ask the directory one by one.
public struct TenantMapRefresher: Service {
    let map: TenantMap
    let client: DirectoryV1.Directory.Client
    let interval: Duration
    let logger: Logger
    /// Run after each listing (the executable returns the old map's memory to the system there).
    let afterRefresh: @Sendable () -> Void

    public init(
        map: TenantMap, client: DirectoryV1.Directory.Client, interval: Duration, logger: Logger,
        afterRefresh: @escaping @Sendable () -> Void = {}
    ) {
        self.map = map
        self.client = client
        self.interval = interval
        self.logger = logger
        self.afterRefresh = afterRefresh
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let start = ContinuousClock.now
            do {
                try await self.map.refresh(from: self.client)
                self.afterRefresh()
                self.logger.debug("tenant map refreshed", metadata: ["tenants": "\(self.map.count)", "took": "\(ContinuousClock.now - start)"])
            } catch {
                self.logger.warning("tenant map not refreshed: sign-ins ask the directory one by one", metadata: ["error": "\(error)"])
            }
            // The next listing starts half a lifetime after this one started, so it is done long before
            // this one stops being trusted (a listing of 100,000 tenants takes about a second).
            let wait = self.interval / 2 - (ContinuousClock.now - start)
            if wait > .zero {
                try? await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: wait)
                }
            }
        }
    }
}
