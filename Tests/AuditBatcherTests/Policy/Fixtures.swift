/// Policy texts shared by the policy suites.
enum Fixtures {
    /// The policy the Banyan deployment ships: every request at Metadata.
    static let banyanPolicy = """
        apiVersion: audit.k8s.io/v1
        kind: Policy
        rules:
          - level: Metadata
        """
}
