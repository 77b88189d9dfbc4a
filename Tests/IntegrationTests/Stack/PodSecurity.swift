import Foundation
import Synchronization
import Testing

/// What the rendered Deployment of a service allows its pod, as `docker run` flags, so that the
/// containers of the tests run as constrained as the pods (issue 17): its user, group and
/// fsGroup, a read-only root filesystem, the capabilities dropped and added back, no privilege
/// escalation, and a tmpfs where the pod has an emptyDir.
enum PodSecurity {
    private static let deployments = Mutex<[String: [String: Any]]?>(nil)

    /// `service`'s Deployment from `kubectl kustomize srcs`, rendered once per run.
    static func deployment(_ service: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let rendered = try deployments.withLock { cached in
            if let cached { return cached }
            let objects = try Integration.ManifestPolicy.render(sourceLocation: sourceLocation).filter { $0.string("kind") == "Deployment" }
            let byName = Dictionary(uniqueKeysWithValues: objects.map { ($0.string("metadata.name"), $0) })
            cached = byName
            return byName
        }
        return try #require(rendered[service], "no Deployment \(service) in srcs", sourceLocation: sourceLocation)
    }

    /// The flags for `deployment`'s first container. `emptyDirsAsVolumes`: anonymous volumes
    /// instead of tmpfs, for a test that reads their files after the container stopped
    /// (`docker cp` reaches volumes, not tmpfs).
    static func dockerFlags(_ deployment: [String: Any], emptyDirsAsVolumes: Bool = false) -> [String] {
        let pod = deployment.dictionary("spec.template.spec.securityContext")
        let container = deployment.array("spec.template.spec.containers").first ?? [:]
        let context = container.dictionary("securityContext")
        var flags: [String] = []
        if pod["runAsUser"] != nil {
            flags += ["--user", "\(pod.int("runAsUser")):\(pod.int("runAsGroup"))"]
        }
        if pod["fsGroup"] != nil { flags += ["--group-add", pod.string("fsGroup")] }
        if (context["readOnlyRootFilesystem"] as? Bool) == true { flags.append("--read-only") }
        flags += context.strings("capabilities.drop").flatMap { ["--cap-drop", $0] }
        flags += context.strings("capabilities.add").flatMap { ["--cap-add", $0] }
        if (context["allowPrivilegeEscalation"] as? Bool) == false { flags += ["--security-opt", "no-new-privileges"] }
        for path in mountPaths(deployment, of: "emptyDir") {
            // Docker 20.10 gives the tmpfs the mode of the image's directory, whatever mode= says.
            flags += emptyDirsAsVolumes ? ["-v", path] : ["--tmpfs", path]
        }
        return flags
    }

    /// Where `container` (by default `deployment`'s first) mounts the pod's volumes of `kind`
    /// (`emptyDir`, `persistentVolumeClaim`, ...), in the order of its volumeMounts.
    static func mountPaths(_ deployment: [String: Any], of kind: String, in container: [String: Any]? = nil) -> [String] {
        let names = Set(deployment.array("spec.template.spec.volumes").filter { $0[kind] != nil }.map { $0.string("name") })
        let container = container ?? deployment.array("spec.template.spec.containers").first ?? [:]
        return container.array("volumeMounts").filter { names.contains($0.string("name")) }.map { $0.string("mountPath") }
    }

    /// `dockerFlags` of `service`'s rendered Deployment.
    static func dockerFlags(of service: String, emptyDirsAsVolumes: Bool = false,
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        dockerFlags(try deployment(service, sourceLocation: sourceLocation), emptyDirsAsVolumes: emptyDirsAsVolumes)
    }
}
