// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// Release builds of the libraries the request path calls into also publish their generic code
/// (the batching machine over spool sequence numbers, the JSON writer): without it every call
/// from another module ran unspecialized, looking up generic metadata at run time.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "kube-oidc-proxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kube-oidc-proxy", targets: ["KubeOIDCProxy"]),
        .library(name: "OIDCVerifier", targets: ["OIDCVerifier"]),
        .library(name: "Impersonation", targets: ["Impersonation"]),
        .library(name: "AuditBatcher", targets: ["AuditBatcher"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.1.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.15.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.30.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        // gzip for audit batches of 4 KiB or more; a thin wrapper over the system zlib.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // Only the benchmark uses jwt-kit: it is the yardstick our own verification path is measured against.
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.1.0"),
    ],
    targets: [
        .executableTarget(
            name: "KubeOIDCProxy",
            dependencies: [
                "EgressProxy",
                "OIDCVerifier",
                "CommandLineFlags",
                "ProxyConfiguration",
                "ProxyServer",
                "AuditBatcher",
                "AuditShipping",
                "Impersonation",
                "UpstreamConfiguration",
                "DevEnvironment",
                "TokenDiagnosis",
                "KubeconfigGeneration",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "OIDCVerifier",
            dependencies: [
                "EgressProxy",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict + crossModule
        ),
        .target(
            name: "ProxyServer",
            dependencies: [
                "OIDCVerifier",
                "AuditBatcher",
                "Impersonation",
                "IPAddresses",
                "UpstreamConfiguration",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict + crossModule
        ),
        .target(
            name: "Impersonation",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strict + crossModule
        ),
        .target(
            name: "AuditBatcher",
            dependencies: ["CZlib", "IPAddresses", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict + crossModule
        ),
        // IP addresses as Go parses and writes them (audit sourceIPs, NO_PROXY entries).
        .target(name: "IPAddresses", swiftSettings: strict + crossModule),
        // Which egress proxy outgoing HTTPS takes (HTTPS_PROXY, NO_PROXY), as Go's net/http decides.
        .target(
            name: "EgressProxy",
            dependencies: ["IPAddresses", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: strict + crossModule),
        // zlib's CRC-32 for the spool's records (zlib is linked anyway, for gzip).
        .systemLibrary(name: "CZlib"),
        .target(
            name: "AuditShipping",
            dependencies: [
                "AuditBatcher",
                "EgressProxy",
                "CZlib",
                "UpstreamConfiguration",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict + crossModule
        ),
        .target(name: "CommandLineFlags", swiftSettings: strict),
        .target(
            name: "UpstreamConfiguration",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "ProxyConfiguration",
            dependencies: ["CommandLineFlags", "OIDCVerifier", "UpstreamConfiguration", "KubeconfigGeneration"],
            swiftSettings: strict),
        // `kube-oidc-proxy dev`: the development issuer, the stand-in API server and their certificates.
        .target(
            name: "DevEnvironment",
            dependencies: [
                "OIDCVerifier",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // `kube-oidc-proxy check-token`: a verdict on a token in the operator's words.
        .target(
            name: "TokenDiagnosis",
            dependencies: [
                "OIDCVerifier", "Impersonation", .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        // `kube-oidc-proxy kubeconfig`: kubeconfigs for the proxy's users.
        .target(
            name: "KubeconfigGeneration",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "OIDCVerifier",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "OIDCVerifierTests",
            dependencies: [
                "OIDCVerifier", "EgressProxy", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ImpersonationTests",
            dependencies: ["Impersonation", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AuditBatcherTests", dependencies: ["AuditBatcher", "IPAddresses", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "AuditShippingTests",
            dependencies: [
                "AuditShipping",
                "AuditBatcher",
                "EgressProxy",
                "TestSupport",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "UpstreamConfigurationTests",
            dependencies: ["UpstreamConfiguration"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CommandLineFlagsTests",
            dependencies: ["CommandLineFlags"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxyConfigurationTests",
            dependencies: ["ProxyConfiguration", "TestSupport", "KubeconfigGeneration"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProxyServerTests",
            dependencies: [
                "ProxyServer",
                "TestSupport",
                "AuditBatcher",
                "Impersonation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DevEnvironmentTests",
            dependencies: ["DevEnvironment", "OIDCVerifier", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "TokenDiagnosisTests",
            dependencies: [
                "TokenDiagnosis", "OIDCVerifier", "Impersonation",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KubeconfigGenerationTests",
            dependencies: ["KubeconfigGeneration", "UpstreamConfiguration", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KubeOIDCProxyTests",
            dependencies: [
                "TestSupport",
                "AuditBatcher",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "AuditBenchmark",
            dependencies: [
                "AuditBatcher",
                "AuditShipping",
                "ProxyServer",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/AuditBenchmark",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "BenchIssuer",
            dependencies: ["OIDCVerifier", "TestSupport"],
            path: "Benchmarks/BenchIssuer",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "VerifierBenchmark",
            dependencies: [
                "OIDCVerifier",
                "TestSupport",
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "Benchmarks/VerifierBenchmark",
            swiftSettings: strict
        ),
    ]
)
