// Package k8stest validates Plenary's Kubernetes manifests (k8s/) without a
// cluster. Its tests, run by `go test ./...`:
//
//   - build every kustomization in-process (sigs.k8s.io/kustomize/api,
//     krusty) and decode every object strictly into its k8s.io/api type, or,
//     for operator resources (ServiceMonitor, PodMonitor, PrometheusRule,
//     ScaledObject, RabbitmqCluster, MongoDBCommunity), into a small struct
//     of the fields the operator documents; unknown fields fail;
//   - check that the objects hang together: selectors select pods, Services,
//     Secrets, ConfigMaps and volumes referred to exist, probes and ingress
//     backends name real ports;
//   - check every --flag, PLENARY_* variable and container port against the
//     flags `plenary serve --help` (and `plenary loadtest --help`) prints
//     today, and the drain timing (preStop + --drain-timeout within
//     terminationGracePeriodSeconds);
//   - check that gateways and SFU nodes can find each other: both have
//     Redis (node registry and bus), each --region matches its pods'
//     plenary.io/region label, SFU nodes register under their pod name, and
//     every region with gateways has SFU nodes;
//   - run `promtool check rules` on the alert rules and on every dashboard
//     query, `promtool test rules` on testdata/alerts_test.yaml, and check
//     that every metric an alert, dashboard or autoscaler uses is registered
//     by the code (the packages are imported, their collectors described);
//   - render the load-test Job with n shards and check the merge step reads
//     exactly the shards' outputs.
//
// The package has no API; everything is in its tests.
package k8stest
