import Foundation
import Testing

/// The Kubernetes manifests of srcs/, checked without a cluster: `kubectl kustomize srcs`
/// renders, every object passes `kubernetes-validate --strict` and yamllint, and the rendered
/// objects keep the policies of the subject (issue 5, "Checks in CI"): one LoadBalancer IP
/// shared by the five public Services, the databases on ClusterIP only, no NodePort, every
/// public port exposed, local images, ftinit as the liveness probe, resources, credentials
/// from the Secret and the ConfigMap, persistent data directories, no literal password.
extension Integration {
    @Suite(.requires(.tools(["kubectl", "kubernetes-validate", "yamllint", "python3"]), what: "Kubernetes manifest policy tests"))
    struct ManifestPolicy {
        static let root = FTInitBinary.packageRoot.path
        static let srcs = "\(root)/srcs"

        /// The seven services, named as their images/ folders.
        static let services = ["ftps", "grafana", "influxdb", "mysql", "nginx", "phpmyadmin", "wordpress"]
        /// What the subject exposes on the shared IP, per Service.
        static let publicPorts: [String: Set<Int>] = [
            "nginx": [80, 443, 22], "wordpress": [5050], "phpmyadmin": [5000],
            "ftps": [21, 30000, 30001, 30002, 30003, 30004], "grafana": [3000],
        ]
        static let clusterOnlyPorts: [String: Set<Int>] = ["mysql": [3306], "influxdb": [8086]]
        /// The data each pod keeps across crashes, deletions and rollouts.
        static let dataDirectories = [
            "mysql": "/var/lib/mysql", "influxdb": "/var/lib/influxdb", "ftps": "/home", "grafana": "/var/lib/grafana",
            "wordpress": "/var/www/wordpress/wp-content/uploads",
        ]
        /// Every Deployment has a ReadWriteOnce volume (data or identity): one pod at a time.
        static let recreated: Set<String> = Set(services)

        /// docs/images.md: the secret variables (keys of the Secret setup.sh creates) ...
        static let secretKeys: Set<String> = [
            "MYSQL_ROOT_PASSWORD", "WP_DB_PASSWORD", "WP_ADMIN_PASSWORD", "WP_EDITOR_PASSWORD", "WP_AUTHOR_PASSWORD", "WP_SUBSCRIBER_PASSWORD",
            "PMA_BLOWFISH_SECRET",
            "SSH_PASSWORD", "FTP_PASSWORD", "INFLUXDB_ADMIN_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "WP_AUTH_SALT_SEED",
            "INFLUXDB_METRICS_PASSWORD", "INFLUXDB_READER_PASSWORD", "GRAFANA_SECRET_KEY",
        ]
        /// ... and the settings (keys of the ConfigMap).
        static let configKeys: Set<String> = [
            "LB_IP", "MYSQL_HOST", "WP_DB_NAME", "WP_DB_USER", "WP_ADMIN_USER", "WP_ADMIN_EMAIL", "SSH_USER", "FTP_USER",
            "INFLUXDB_ADMIN_USER", "INFLUXDB_DB", "GRAFANA_ADMIN_USER", "INFLUXDB_METRICS_USER", "INFLUXDB_READER_USER",
        ]
        /// docs/images.md "What comes from the environment": what each image reads.
        static let environment = ([
            "nginx": ["LB_IP", "SSH_USER", "SSH_PASSWORD"],
            "wordpress": ["LB_IP", "MYSQL_HOST", "WP_DB_NAME", "WP_DB_USER", "WP_DB_PASSWORD", "WP_ADMIN_USER",
                          "WP_ADMIN_PASSWORD", "WP_ADMIN_EMAIL", "WP_EDITOR_PASSWORD", "WP_AUTHOR_PASSWORD",
                          "WP_SUBSCRIBER_PASSWORD", "WP_AUTH_SALT_SEED"],
            "phpmyadmin": ["LB_IP", "MYSQL_HOST", "PMA_BLOWFISH_SECRET"],
            "mysql": ["MYSQL_ROOT_PASSWORD", "WP_DB_NAME", "WP_DB_USER", "WP_DB_PASSWORD"],
            "ftps": ["LB_IP", "FTP_USER", "FTP_PASSWORD"],
            "influxdb": ["INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD", "INFLUXDB_READER_USER", "INFLUXDB_READER_PASSWORD"],
            "grafana": ["LB_IP", "GRAFANA_ADMIN_USER", "GRAFANA_ADMIN_PASSWORD", "GRAFANA_SECRET_KEY", "INFLUXDB_READER_USER",
                        "INFLUXDB_READER_PASSWORD"],
        ] as [String: Set<String>]).mapValues { $0.union(metricsEnvironment) }
        /// What every image's `[metrics]` reads (srcs/metrics adds it to every Deployment).
        static let metricsEnvironment: Set<String> = ["INFLUXDB_DB", "INFLUXDB_METRICS_USER", "INFLUXDB_METRICS_PASSWORD"]
        /// Capabilities a pod may add back after dropping ALL (Docker's defaults minus the ones no
        /// image needs: MKNOD, NET_RAW, SETFCAP, SETPCAP, FSETID, AUDIT_WRITE).
        static let allowedCapabilities: Set<String> = [
            "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE", "SYS_CHROOT",
        ]
        /// The address committed in srcs/lb-ip.yaml (RFC 5737 documentation range).
        static let placeholderIP = "192.0.2.10"

        // MARK: rendering and the linters

        @Test func rendersAndEveryObjectPassesKubernetesValidateStrict() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let rendered = try scratch.write("rendered.yaml", try Self.kustomize(Self.srcs))
            let result = try Tool.run(["kubernetes-validate", "--strict", rendered], timeout: .seconds(60))
            #expect(result.succeeded, "\(result)")
            let objects = try Self.objects(renderedFile: rendered)
            let report = result.stdout + result.stderr
            for object in objects {
                let kind = object.string("kind")
                let name = object.string("metadata.name")
                if object.string("apiVersion").hasPrefix("metallb.io/") {
                    // kubernetes-validate has no schema for MetalLB's CRDs: metalLBObjectsAreWellFormed
                    // checks them.
                    continue
                }
                #expect(report.contains("passed for resource \(kind.lowercased())/\(name) "),
                        "\(kind)/\(name) was not validated against a schema:\n\(report)")
            }
            let unchecked = objects.filter { $0.string("apiVersion").hasPrefix("metallb.io/") }.map { $0.string("kind") }.sorted()
            #expect(unchecked == ["IPAddressPool", "L2Advertisement"], "only MetalLB's two kinds may lack a schema")
        }

        @Test func yamllintPassesStrict() throws {
            let result = try Tool.run(["yamllint", "--strict", "-c", "\(Self.srcs)/.yamllint.yaml", Self.srcs])
            #expect(result.succeeded, "\(result)")
        }

        @Test func metalLBObjectsAreWellFormed() throws {
            let objects = try Self.render()
            let pools = objects.filter { $0.string("kind") == "IPAddressPool" }
            let adverts = objects.filter { $0.string("kind") == "L2Advertisement" }
            try #require(pools.count == 1 && adverts.count == 1, "one IPAddressPool and one L2Advertisement")
            for object in pools + adverts {
                #expect(object.string("apiVersion") == "metallb.io/v1beta1", "\(object.string("kind")): MetalLB's current CRD version")
                #expect(object.string("metadata.namespace") == "metallb-system")
                let known: Set<String> = object.string("kind") == "IPAddressPool"
                    ? ["addresses", "autoAssign", "avoidBuggyIPs", "serviceAllocation"]
                    : ["ipAddressPools", "ipAddressPoolSelectors", "nodeSelectors", "interfaces"]
                #expect(Set(object.dictionary("spec").keys).isSubset(of: known), "\(object.string("kind")): unknown spec field")
            }
            #expect(pools[0].strings("spec.addresses") == ["\(Self.placeholderIP)/32"], "the pool holds exactly the one shared address")
            #expect(adverts[0].strings("spec.ipAddressPools") == [pools[0].string("metadata.name")])
        }

        // MARK: Services

        @Test func onePublicIPIsSharedByTheFivePublicServices() throws {
            let objects = try Self.render()
            let services = objects.filter { $0.string("kind") == "Service" }
            let balanced = services.filter { $0.string("spec.type") == "LoadBalancer" }
            #expect(Set(balanced.map { $0.string("metadata.name") }) == Set(Self.publicPorts.keys))
            var addresses: Set<String> = []
            for service in balanced {
                let name = service.string("metadata.name")
                #expect(service.string("metadata.annotations.metallb\\.universe\\.tf/allow-shared-ip") == "ft-services", "\(name)")
                addresses.insert(service.string("metadata.annotations.metallb\\.universe\\.tf/loadBalancerIPs"))
                // MetalLB shares an IP only between Services with the same traffic policy.
                #expect(["", "Cluster"].contains(service.string("spec.externalTrafficPolicy")), "\(name)")
            }
            #expect(addresses == [Self.placeholderIP], "the five Services must request the one address of srcs/lb-ip.yaml")
        }

        /// setup.sh applies a copy of srcs/ whose lb-ip.yaml holds the real address
        /// (srcs/kustomization.yaml): every Service and the pool follow it.
        @Test func theAddressOfLbIpYamlReachesEveryPlace() throws {
            let scratch = try Scratch()
            defer { scratch.remove() }
            let copy = scratch.file("srcs")
            try FileManager.default.copyItem(atPath: Self.srcs, toPath: copy)
            let original = try String(contentsOfFile: "\(Self.srcs)/lb-ip.yaml", encoding: .utf8)
            try #require(original.contains("  LB_IP: \(Self.placeholderIP)\n"))
            try original.replacingOccurrences(of: "  LB_IP: \(Self.placeholderIP)\n", with: "  LB_IP: 172.18.0.42\n")
                .write(toFile: "\(copy)/lb-ip.yaml", atomically: false, encoding: .utf8)
            let rendered = try Self.kustomize(copy)
            #expect(!rendered.contains(Self.placeholderIP), "the committed address survived the substitution")
            #expect(!rendered.contains("LB_IP/") && !rendered.contains("loadBalancerIPs: LB_IP"), "a target was not replaced")
            let objects = try Self.objects(renderedFile: try scratch.write("rendered.yaml", rendered))
            let requested = objects.filter { $0.string("spec.type") == "LoadBalancer" }
                .map { $0.string("metadata.annotations.metallb\\.universe\\.tf/loadBalancerIPs") }
            #expect(requested == Array(repeating: "172.18.0.42", count: 5))
            #expect(objects.first { $0.string("kind") == "IPAddressPool" }?.strings("spec.addresses") == ["172.18.0.42/32"])
            #expect(!objects.contains { $0.string("metadata.name") == "ft-services-lb-ip" }, "lb-ip.yaml is local-config, never applied")
            // A pod reads LB_IP once, at boot: a re-run with another address must replace it,
            // so its template names the address (issue 13: stale pods after a new --lb-ip).
            for deployment in objects where deployment.string("kind") == "Deployment" {
                let name = deployment.string("metadata.name")
                let readsAddress = deployment.array("spec.template.spec.containers").contains { $0.array("env").contains { $0.string("name") == "LB_IP" } }
                let recorded = deployment.string("spec.template.metadata.annotations.ft-services\\.local/lb-ip")
                #expect(recorded == (readsAddress ? "172.18.0.42" : ""), "\(name): pod template records LB IP '\(recorded)'")
            }
        }

        @Test func databasesAreClusterIPOnly() throws {
            let objects = try Self.render()
            for (name, ports) in Self.clusterOnlyPorts {
                let service = try #require(objects.first { $0.string("kind") == "Service" && $0.string("metadata.name") == name })
                #expect(service.string("spec.type") == "ClusterIP", "\(name)")
                #expect(Set(service.array("spec.ports").map { $0.int("port") }) == ports, "\(name)")
                #expect(service.dictionary("metadata.annotations").isEmpty, "\(name) carries MetalLB annotations")
            }
        }

        @Test func nothingIsExposedOutsideTheSharedIP() throws {
            let objects = try Self.render()
            #expect(!objects.contains { $0.string("kind") == "Ingress" }, "no Ingress")
            for service in objects where service.string("kind") == "Service" {
                let name = service.string("metadata.name")
                #expect(["ClusterIP", "LoadBalancer"].contains(service.string("spec.type")), "\(name): no NodePort")
                #expect(service.array("spec.ports").allSatisfy { $0["nodePort"] == nil }, "\(name): no fixed nodePort")
                // A LoadBalancer Service gets a NodePort per port unless told not to
                // (allocateLoadBalancerNodePorts defaults to true): <node-ip>:3xxxx would be a
                // second way in.
                if service.string("spec.type") == "LoadBalancer" {
                    #expect(service.dictionary("spec")["allocateLoadBalancerNodePorts"] as? Bool == false,
                            "\(name): allocateLoadBalancerNodePorts must be false, or every port is also a NodePort")
                }
            }
            for deployment in objects where deployment.string("kind") == "Deployment" {
                let pod = deployment.dictionary("spec.template.spec")
                #expect(pod["hostNetwork"] == nil && pod["hostPID"] == nil, "\(deployment.string("metadata.name"))")
                for container in deployment.array("spec.template.spec.containers") {
                    #expect(container.array("ports").allSatisfy { $0["hostPort"] == nil }, "\(deployment.string("metadata.name")): hostPort")
                }
            }
        }

        /// Every port of the subject is on the shared IP, and (like every port of every
        /// Service) reaches a port the image EXPOSEs and the container declares.
        @Test func everyPublicPortIsExposed() throws {
            let objects = try Self.render()
            for service in objects where service.string("kind") == "Service" {
                let name = service.string("metadata.name")
                let ports = service.array("spec.ports")
                #expect(Set(ports.map { $0.int("port") }) == (Self.publicPorts[name] ?? Self.clusterOnlyPorts[name]), "\(name)")
                #expect(ports.allSatisfy { $0.string("protocol") == "TCP" }, "\(name)")
                let deployment = try #require(objects.first { $0.string("kind") == "Deployment" && $0.string("metadata.name") == name })
                #expect(service.dictionary("spec.selector").mapValues { "\($0)" } == deployment.dictionary("spec.selector.matchLabels").mapValues { "\($0)" },
                        "\(name): the Service selects its Deployment's pods")
                let declared = deployment.array("spec.template.spec.containers").flatMap { $0.array("ports") }
                let exposed = try Self.exposedPorts(name)
                for port in ports {
                    let target = port.string("targetPort")
                    let containerPort = declared.first { $0.string("name") == target || "\($0.int("containerPort"))" == target }
                    let number = try #require(containerPort, "\(name): targetPort \(target) is no container port").int("containerPort")
                    #expect(number == port.int("port"), "\(name): \(port.int("port")) goes to \(number)")
                    #expect(exposed.contains(number), "\(name): images/\(name)/Dockerfile does not EXPOSE \(number)")
                }
            }
        }

        // MARK: Deployments

        @Test func everyDeploymentRunsItsLocalImage() throws {
            let deployments = try Self.render().filter { $0.string("kind") == "Deployment" }
            #expect(deployments.map { $0.string("metadata.name") }.sorted() == Self.services)
            for deployment in deployments {
                let name = deployment.string("metadata.name")
                #expect(deployment.string("metadata.namespace") == "ft-services", "\(name)")
                #expect(deployment.int("spec.replicas") == 1, "\(name)")
                for labels in [deployment.dictionary("metadata.labels"), deployment.dictionary("spec.template.metadata.labels")] {
                    #expect(labels["app.kubernetes.io/name"] as? String == name, "\(name)")
                    #expect(labels["app.kubernetes.io/part-of"] as? String == "ft-services", "\(name)")
                }
                #expect(deployment.string("spec.strategy.type") == (Self.recreated.contains(name) ? "Recreate" : "RollingUpdate"), "\(name)")
                let containers = deployment.array("spec.template.spec.containers")
                #expect(containers.count == 1 && deployment.array("spec.template.spec.initContainers").isEmpty, "\(name): one container")
                for container in containers {
                    #expect(container.string("name") == name)
                    #expect(container.string("image") == "\(name):ft-services", "\(name): the image setup.sh builds")
                    #expect(container.string("imagePullPolicy") == "Never", "\(name): no registry")
                }
            }
        }

        /// ftinit must not give up on grafana's first check before the kubelet's startupProbe
        /// would: the probe's last attempt (initialDelay + (failureThreshold - 1) x period, failing
        /// at the latest after its timeout) comes no later than ftinit's start-period.
        @Test func ftinitWaitsForGrafanaAsLongAsTheStartupProbe() throws {
            let deployment = try #require(try Self.render().first { $0.string("kind") == "Deployment" && $0.string("metadata.name") == "grafana" })
            let probe = try #require(deployment.array("spec.template.spec.containers").first?.value("startupProbe") as? [String: Any])
            let window = probe.int("initialDelaySeconds") + (probe.int("failureThreshold") - 1) * probe.int("periodSeconds") + probe.int("timeoutSeconds")
            let period = try #require(try Self.configValue("grafana", section: "[service grafana]", key: "start-period").flatMap(Self.seconds))
            #expect(window > 0 && period >= window, "start-period \(period) s < the startupProbe's \(window) s")
        }

        @Test func ftinitIsTheLivenessAndReadinessProbeAndStartupAsksThePort() throws {
            for deployment in try Self.render() where deployment.string("kind") == "Deployment" {
                let name = deployment.string("metadata.name")
                let budget = try Self.stopBudgetSeconds(name)
                #expect(deployment.int("spec.template.spec.terminationGracePeriodSeconds") > budget,
                        "\(name): the kubelet must wait longer than ftinit's stop budget (\(budget) s)")
                for container in deployment.array("spec.template.spec.containers") {
                    let liveness = container.strings("livenessProbe.exec.command")
                    #expect(Array(liveness.prefix(2)) == ["/sbin/ftinit", "probe"], "\(name): liveness is `/sbin/ftinit probe`")
                    // ftinit's control socket is /run/ftinit.sock, the probe's default, in every image.
                    #expect(!liveness.contains("--socket"), "\(name)")
                    // Issue 18: readiness is ftinit's too, over every daemon of the image.
                    #expect(container.strings("readinessProbe.exec.command") == ["/sbin/ftinit", "probe", "--ready", "--timeout", "3s"],
                            "\(name): readiness is `/sbin/ftinit probe --ready`")
                    for field in ["periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold"] {
                        #expect(container.int("readinessProbe.\(field)") > 0, "\(name): readinessProbe.\(field) spelled out")
                    }
                    let ports = Set(container.array("ports").flatMap { [$0.string("name"), "\($0.int("containerPort"))"] })
                    for probe in ["startupProbe"] {
                        let target = container.string("\(probe).httpGet.port").isEmpty
                            ? container.string("\(probe).tcpSocket.port") : container.string("\(probe).httpGet.port")
                        #expect(ports.contains(target), "\(name): \(probe) must ask the service's own port, not ftinit")
                        if container.string("\(probe).httpGet.scheme") == "HTTPS" {
                            // Port 80 of nginx only redirects: TLS probes go to the TLS port.
                            #expect(container.array("ports").contains { $0.string("name") == "https" && ($0.string("name") == target || "\($0.int("containerPort"))" == target) },
                                    "\(name): \(probe) speaks HTTPS to \(target), not the https port")
                        }
                        for field in ["periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold"] {
                            #expect(container.int("\(probe).\(field)") > 0, "\(name): \(probe).\(field) spelled out")
                        }
                    }
                    let startupWindow = container.int("startupProbe.periodSeconds") * container.int("startupProbe.failureThreshold")
                    let needed = ["mysql", "wordpress", "grafana"].contains(name) ? 600 : 120
                    #expect(startupWindow >= needed, "\(name): first boot gets \(startupWindow) s, needs \(needed) s")
                }
            }
        }

        @Test func everyContainerHasResourcesAndLeastPrivilege() throws {
            for deployment in try Self.render() where deployment.string("kind") == "Deployment" {
                let name = deployment.string("metadata.name")
                #expect(deployment.string("spec.template.spec.securityContext.seccompProfile.type") == "RuntimeDefault", "\(name)")
                #expect(deployment.dictionary("spec.template.spec")["automountServiceAccountToken"] as? Bool == false, "\(name)")
                for container in deployment.array("spec.template.spec.containers") {
                    for bound in ["requests", "limits"] {
                        for resource in ["cpu", "memory"] {
                            #expect(!container.string("resources.\(bound).\(resource)").isEmpty, "\(name): resources.\(bound).\(resource)")
                        }
                    }
                    #expect(container.dictionary("securityContext")["allowPrivilegeEscalation"] as? Bool == false, "\(name)")
                    #expect(container.dictionary("securityContext")["privileged"] as? Bool != true, "\(name)")
                    #expect(container.strings("securityContext.capabilities.drop") == ["ALL"], "\(name)")
                    let added = Set(container.strings("securityContext.capabilities.add"))
                    #expect(added.isSubset(of: Self.allowedCapabilities), "\(name) adds \(added.subtracting(Self.allowedCapabilities))")
                    // Only the images that listen below 1024 (80, 443, 22, 21) may bind there.
                    let privilegedPorts = container.array("ports").contains { $0.int("containerPort") < 1024 }
                    #expect(added.contains("NET_BIND_SERVICE") == privilegedPorts, "\(name): NET_BIND_SERVICE")
                    // Issue 17: a pod of one daemon runs as that daemon's user, ftinit included,
                    // with no capability; a read-only root writes only to its volumes and to
                    // emptyDirs on /run and /tmp.
                    if Self.nonRootPods.contains(name) {
                        let pod = deployment.dictionary("spec.template.spec.securityContext")
                        #expect(pod["runAsNonRoot"] as? Bool == true && pod.int("runAsUser") > 0 && pod["fsGroup"] != nil, "\(name): \(pod)")
                        #expect(added.isEmpty, "\(name) adds \(added.sorted())")
                    }
                    let readOnly = container.dictionary("securityContext")["readOnlyRootFilesystem"] as? Bool == true
                    #expect(readOnly == Self.readOnlyRootPods.contains(name), "\(name): read-only root \(readOnly)")
                    if readOnly {
                        let scratch = Set(PodSecurity.mountPaths(deployment, of: "emptyDir", in: container))
                        #expect(scratch == ["/run", "/tmp"], "\(name): emptyDirs at \(scratch.sorted())")
                    }
                }
            }
        }

        /// The pods whose one daemon and ftinit run as the daemon's user (docs/security.md);
        /// the others start ftinit as root, which drops privileges per service.
        static let nonRootPods: Set<String> = ["influxdb", "grafana"]
        /// The pods with a read-only root filesystem (docs/security.md: why not the others).
        static let readOnlyRootPods: Set<String> = ["influxdb", "grafana", "mysql", "phpmyadmin", "wordpress"]

        /// Each container gets exactly the variables its image reads, each from the Secret (the
        /// credentials) or the ConfigMap (the settings): no literal value, no envFrom.
        @Test func credentialsAndSettingsComeFromTheSecretAndTheConfigMap() throws {
            for deployment in try Self.render() where deployment.string("kind") == "Deployment" {
                let name = deployment.string("metadata.name")
                for container in deployment.array("spec.template.spec.containers") {
                    #expect(container.array("envFrom").isEmpty, "\(name): envFrom would hand every key to every pod")
                    var names: Set<String> = []
                    for variable in container.array("env") {
                        let key = variable.string("name")
                        names.insert(key)
                        #expect(variable["value"] == nil, "\(name): \(key) has a literal value")
                        if Self.secretKeys.contains(key) {
                            #expect(variable.string("valueFrom.secretKeyRef.name") == "ft-services-secrets", "\(name): \(key) from the Secret")
                            #expect(variable.string("valueFrom.secretKeyRef.key") == key, "\(name): \(key)")
                        } else {
                            #expect(Self.configKeys.contains(key), "\(name): \(key) is neither a secret nor a setting of docs/images.md")
                            #expect(variable.string("valueFrom.configMapKeyRef.name") == "ft-services-config", "\(name): \(key) from the ConfigMap")
                            #expect(variable.string("valueFrom.configMapKeyRef.key") == key, "\(name): \(key)")
                        }
                    }
                    #expect(names == Self.environment[name], "\(name): environment differs from docs/images.md")
                    let required = try Self.requiredVariables(name)
                    #expect(required.isSubset(of: names), "\(name): images/\(name) requires \(required.subtracting(names).sorted())")
                }
            }
        }

        @Test func dataDirectoriesAreOnPersistentVolumeClaims() throws {
            let objects = try Self.render()
            let claims = objects.filter { $0.string("kind") == "PersistentVolumeClaim" }
            for (name, directory) in Self.dataDirectories {
                let deployment = try #require(objects.first { $0.string("kind") == "Deployment" && $0.string("metadata.name") == name })
                let container = try #require(deployment.array("spec.template.spec.containers").first)
                let mount = try #require(container.array("volumeMounts").first { $0.string("mountPath") == directory },
                                         "\(name): nothing mounted at \(directory)")
                let volume = try #require(deployment.array("spec.template.spec.volumes").first { $0.string("name") == mount.string("name") })
                let claimName = volume.string("persistentVolumeClaim.claimName")
                let claim = try #require(claims.first { $0.string("metadata.name") == claimName }, "\(name): no PVC \(claimName)")
                #expect(claim.string("metadata.namespace") == "ft-services")
                #expect(claim.strings("spec.accessModes") == ["ReadWriteOnce"], "\(claimName)")
                #expect(!claim.string("spec.resources.requests.storage").isEmpty, "\(claimName)")
            }
        }

        /// What makes a server the same server to its clients must outlive the container
        /// (issue 13): the TLS pair of every image with `[tls]` and nginx's SSH host keys are on
        /// a PersistentVolumeClaim, where ftinit and ssh-hostkeys.sh find and keep them; the
        /// WordPress salts derive from the Secret's WP_AUTH_SALT_SEED, which is not optional.
        @Test func identitiesOutliveTheContainer() throws {
            let objects = try Self.render()
            var kept: [String: [String]] = [:]
            for name in Self.services {
                if let cert = try Self.tlsCertificatePath(name) {
                    kept[name, default: []].append((cert as NSString).deletingLastPathComponent)
                }
            }
            #expect(Set(kept.keys) == ["nginx", "wordpress", "phpmyadmin", "ftps", "grafana"], "the images with [tls]: \(kept.keys.sorted())")
            kept["nginx", default: []].append(try Self.sshHostKeyDirectory())
            for (name, directories) in kept {
                let deployment = try #require(objects.first { $0.string("kind") == "Deployment" && $0.string("metadata.name") == name })
                let mounts = try Self.persistentMounts(deployment)
                for directory in directories {
                    #expect(mounts.contains { directory == $0 || directory.hasPrefix($0 + "/") },
                            "\(name): \(directory) is not on a PersistentVolumeClaim (mounted: \(mounts.sorted())): a new container makes a new identity")
                }
            }
            let wordpress = try #require(objects.first { $0.string("kind") == "Deployment" && $0.string("metadata.name") == "wordpress" })
            let seed = try #require(wordpress.array("spec.template.spec.containers")[0].array("env").first { $0.string("name") == "WP_AUTH_SALT_SEED" })
            #expect(seed.string("valueFrom.secretKeyRef.key") == "WP_AUTH_SALT_SEED")
            #expect(seed.dictionary("valueFrom.secretKeyRef")["optional"] == nil, "WP_AUTH_SALT_SEED optional: salts would change at every restart")
        }

        // MARK: secrets stay out of git

        /// Nothing under srcs/ or images/ assigns a literal to a password or secret: every such
        /// value is a variable (`${X}`, `$X`), a lookup or a reference.
        @Test func noLiteralPasswordInSrcsOrImages() throws {
            let rendered = try Self.render()
            #expect(!rendered.contains { $0.string("kind") == "Secret" }, "Secrets are made by setup.sh, never committed")
            let assignment = try Regex(#"(?i)(passw(or)?d|passwd|secret)[A-Za-z0-9_'"-]*\s*(=>|=|:)\s*(?<value>\S+)"#)
            let literal = try Regex(#"^[A-Za-z0-9_@#%+!.\-/]{4,}$"#)
            var offenders: [String] = []
            for folder in ["srcs", "images"] {
                let base = "\(Self.root)/\(folder)"
                let files = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
                for file in files.sorted() where !file.hasSuffix("/ftinit") && file != "ftinit" {
                    guard let text = try? String(contentsOfFile: "\(base)/\(file)", encoding: .utf8) else { continue }
                    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                        for match in line.matches(of: assignment) {
                            guard let value = match.output["value"]?.substring else { continue }
                            let bare = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"'`,;"))
                            if bare.wholeMatch(of: literal) != nil {
                                offenders.append("\(folder)/\(file):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                            }
                        }
                    }
                }
            }
            #expect(offenders.isEmpty, "literal credentials:\n\(offenders.joined(separator: "\n"))")
        }

        // MARK: helpers

        /// `kubectl kustomize DIRECTORY`'s output; fails the test when it does not render.
        static func kustomize(_ directory: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let result = try Tool.run(["kubectl", "kustomize", directory], timeout: .seconds(60), sourceLocation: sourceLocation)
            try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
            return result.stdout
        }

        /// The rendered objects of srcs/.
        static func render(sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
            let scratch = try Scratch()
            defer { scratch.remove() }
            return try objects(renderedFile: try scratch.write("rendered.yaml", try kustomize(srcs, sourceLocation: sourceLocation)),
                               sourceLocation: sourceLocation)
        }

        /// The YAML documents of `renderedFile` (PyYAML), as JSON objects: the policies are Swift.
        static func objects(renderedFile: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
            let toJSON = "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)"
            let result = try Tool.run(["python3", "-c", toJSON, renderedFile], timeout: .seconds(30), sourceLocation: sourceLocation)
            try #require(result.succeeded, "\(result)", sourceLocation: sourceLocation)
            let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            return try #require(parsed as? [[String: Any]], "no list of objects from PyYAML", sourceLocation: sourceLocation)
        }

        /// The ports of `EXPOSE` lines in images/NAME/Dockerfile (ranges expanded).
        static func exposedPorts(_ image: String) throws -> Set<Int> {
            let dockerfile = try String(contentsOfFile: "\(ImageFolder.path(image))/Dockerfile", encoding: .utf8)
            var ports: Set<Int> = []
            for line in dockerfile.split(separator: "\n") where line.hasPrefix("EXPOSE ") {
                for word in line.dropFirst("EXPOSE ".count).split(separator: " ") {
                    let bounds = word.split(separator: "/")[0].split(separator: "-").compactMap { Int($0) }
                    if let low = bounds.first, let high = bounds.last { ports.formUnion(low...high) }
                }
            }
            return ports
        }

        /// The mountPaths of `deployment`'s container that are PersistentVolumeClaims.
        static func persistentMounts(_ deployment: [String: Any]) throws -> Set<String> {
            let claims = Set(deployment.array("spec.template.spec.volumes")
                .filter { !$0.string("persistentVolumeClaim.claimName").isEmpty }.map { $0.string("name") })
            let container = try #require(deployment.array("spec.template.spec.containers").first)
            return Set(container.array("volumeMounts").filter { claims.contains($0.string("name")) }.map { $0.string("mountPath") })
        }

        /// Image NAME's `[tls] cert` path, nil without `[tls]`.
        static func tlsCertificatePath(_ image: String) throws -> String? {
            try configValue(image, section: "[tls]", key: "cert")
        }

        /// The directory nginx's ssh-hostkeys task writes the host keys to (its last argument).
        static func sshHostKeyDirectory() throws -> String {
            let run = try #require(try configValue("nginx", section: "[task ssh-hostkeys]", key: "run"))
            return String(run.split(separator: " ").last ?? "")
        }

        /// `key = value` of `section` in images/IMAGE/ftinit.conf.
        static func configValue(_ image: String, section wanted: String, key: String) throws -> String? {
            let config = try String(contentsOfFile: "\(ImageFolder.path(image))/ftinit.conf", encoding: .utf8)
            var section = ""
            for line in config.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if line.hasPrefix("[") { section = line; continue }
                guard section == wanted, let eq = line.firstIndex(of: "="),
                      line[..<eq].trimmingCharacters(in: .whitespaces) == key else { continue }
                return line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            }
            return nil
        }

        /// ftinit's total stop budget for image NAME: `[init] stop-timeout` (seconds), default 25 s.
        static func stopBudgetSeconds(_ image: String) throws -> Int {
            try configValue(image, section: "[init]", key: "stop-timeout").flatMap(seconds) ?? 25
        }

        /// Whole seconds of a duration written `Ns` or `Nm`, as the images' ftinit.conf write them.
        static func seconds(_ text: String) -> Int? {
            if text.hasSuffix("m"), let minutes = Int(text.dropLast()) { return minutes * 60 }
            if text.hasSuffix("s"), let seconds = Int(text.dropLast()) { return seconds }
            return nil
        }

        /// The variables images/NAME's files require: `${X}` without a default and `${X:?...}`.
        static func requiredVariables(_ image: String) throws -> Set<String> {
            let folder = ImageFolder.path(image)
            let pattern = try Regex(#"\$\{(?<name>[A-Z_][A-Z0-9_]*)(\}|:\?)"#)
            var names: Set<String> = []
            // Not the Dockerfile: its ${X} are build arguments.
            for file in try FileManager.default.contentsOfDirectory(atPath: folder) where !["ftinit", "Dockerfile"].contains(file) {
                guard let text = try? String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8) else { continue }
                for match in text.matches(of: pattern) {
                    if let name = match.output["name"]?.substring { names.insert(String(name)) }
                }
            }
            return names
        }
    }
}

/// Reading the JSON form of a rendered object by dotted path (`spec.template.spec`); a dot
/// inside a key is written `\.` (`metadata.annotations.metallb\.universe\.tf/allow-shared-ip`).
/// Missing values read as empty.
extension Dictionary where Key == String, Value == Any {
    func value(_ path: String) -> Any? {
        let keys = path.replacingOccurrences(of: "\\.", with: "\u{0}").split(separator: ".")
            .map { $0.replacingOccurrences(of: "\u{0}", with: ".") }
        var current: Any? = self
        for key in keys { current = (current as? [String: Any])?[key] }
        return current
    }

    func string(_ path: String) -> String {
        switch value(path) {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: ""
        }
    }

    func int(_ path: String) -> Int { (value(path) as? NSNumber)?.intValue ?? Int(string(path)) ?? 0 }
    func dictionary(_ path: String) -> [String: Any] { value(path) as? [String: Any] ?? [:] }
    func array(_ path: String) -> [[String: Any]] { value(path) as? [[String: Any]] ?? [] }
    func strings(_ path: String) -> [String] { (value(path) as? [Any])?.map { "\($0)" } ?? [] }
}
