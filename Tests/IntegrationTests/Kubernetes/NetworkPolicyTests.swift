import Foundation
import Testing

/// Issue 17: the rendered NetworkPolicies let in only what the stack needs: nothing by default,
/// MariaDB from WordPress and phpMyAdmin, InfluxDB from the stack's pods, and each public
/// service from anywhere on exactly its Service's ports.
extension Integration.ManifestPolicy {
    /// A policy's ingress rules as (sources, ports): sources are `*` (anyone), or the
    /// `app.kubernetes.io/name` values it selects, or `part-of` for the stack's pods.
    static func ingress(of policy: [String: Any]) -> [(sources: Set<String>, ports: Set<String>)] {
        policy.array("spec.ingress").map { rule in
            let from = rule.array("from")
            var sources: Set<String> = from.isEmpty ? ["*"] : []
            for peer in from {
                let selector = peer.dictionary("podSelector")
                if let name = (selector["matchLabels"] as? [String: Any])?["app.kubernetes.io/name"] as? String { sources.insert(name) }
                if (selector["matchLabels"] as? [String: Any])?["app.kubernetes.io/part-of"] as? String == "ft-services" { sources.insert("part-of") }
                for expression in selector["matchExpressions"] as? [[String: Any]] ?? [] where expression.string("operator") == "In" {
                    sources.formUnion(expression.strings("values"))
                }
            }
            let ports = Set(rule.array("ports").map { port in
                port.int("endPort") > 0 ? "\(port.int("port"))-\(port.int("endPort"))" : "\(port.int("port"))"
            })
            return (sources, ports)
        }
    }

    @Test func networkPoliciesLetInOnlyWhatTheStackNeeds() throws {
        let objects = try Self.render()
        let policies = objects.filter { $0.string("kind") == "NetworkPolicy" }
        let deny = policies.filter { ($0.value("spec.podSelector") as? [String: Any])?.isEmpty == true }
        #expect(deny.count == 1 && deny[0].strings("spec.policyTypes") == ["Ingress"] && deny[0].array("spec.ingress").isEmpty,
                "one default deny of every ingress: \(deny)")
        func rules(for service: String) -> [(sources: Set<String>, ports: Set<String>)] {
            policies.filter { ($0.value("spec.podSelector.matchLabels") as? [String: Any])?["app.kubernetes.io/name"] as? String == service }
                .flatMap(Self.ingress)
        }
        #expect(rules(for: "mysql").map(\.sources) == [["wordpress", "phpmyadmin"]] && rules(for: "mysql").map(\.ports) == [["3306"]],
                "mysql: \(rules(for: "mysql"))")
        #expect(rules(for: "influxdb").map(\.sources) == [["part-of"]] && rules(for: "influxdb").map(\.ports) == [["8086"]],
                "influxdb: \(rules(for: "influxdb"))")
        for service in objects where service.string("kind") == "Service" && service.string("spec.type") == "LoadBalancer" {
            let name = service.string("metadata.name")
            var expected = Set(service.array("spec.ports").map { "\($0.int("port"))" })
            if name == "ftps" { expected = expected.filter { !$0.hasPrefix("3000") }.union(["30000-30004"]) }
            #expect(rules(for: name).map(\.sources) == [["*"]] && rules(for: name).map(\.ports) == [expected],
                    "\(name): \(rules(for: name)), its Service's ports \(expected.sorted())")
        }
        // Every pod of the stack is selected by a policy of its own besides the default deny.
        let selected = Set(policies.compactMap { ($0.value("spec.podSelector.matchLabels") as? [String: Any])?["app.kubernetes.io/name"] as? String })
        #expect(selected == Set(objects.filter { $0.string("kind") == "Deployment" }.map { $0.string("metadata.name") }), "\(selected)")
    }
}
