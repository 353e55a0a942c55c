import Foundation
import TestSupport
import Testing

/// The Helm chart, configmap.yaml and the Dockerfile, checked by deploy/helm/tests/test_chart.py:
/// the chart rendered by Helm's own library (helm-python-sdk) for the default and a Banyan-like
/// values file, every document parsed, flags checked against ProxyFlags, the certificate's
/// SANs, `lookup` across an upgrade, yamllint and hadolint. `.ci/run` installs its PyPI packages.
@Suite struct DeploymentArtifactTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func chartConfigMapAndDockerfilePassTheirChecks() async throws {
        let result = try await ProxyProcess.runTool(
            "/usr/bin/env", ["python3", Self.root + "/deploy/helm/tests/test_chart.py"],
            environment: ProcessInfo.processInfo.environment.merging(["PYTHONUNBUFFERED": "1"]) { $1 })
        #expect(
            result.status == 0,
            "deploy/helm/tests/test_chart.py failed (\(result.status)):\n\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains(" 0 failed") || result.stderr.contains(" 0 failed"))
    }
}
