import ServiceLifecycle

/// Several shippers as one service. A service group stops its services one after the other,
/// and each shipper's flush has a deadline of its own from when it is asked to stop: a webhook
/// and a Banyan sink flushed in turn took twice the time the chart's grace period allows for.
/// Here every shipper is asked at once (the graceful shutdown reaches each child task), and
/// they flush side by side.
public struct ShipperGroup: Service {
    public let shippers: [AuditShipper]

    public init(_ shippers: [AuditShipper]) {
        self.shippers = shippers
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for shipper in shippers { group.addTask { try await shipper.run() } }
            try await group.waitForAll()
        }
    }
}
