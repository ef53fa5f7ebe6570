// Package cascade holds the multi-region acceptance tests of cascading
// relays (issue 10): SFU nodes run as separate `plenary serve --roles sfu`
// processes, one per Linux network namespace ("region"), sharing one
// private redis-server for the bus and the node registry. Publishers (WHIP)
// and viewers (WHEP) are Pion peers in helper processes started inside the
// namespaces (the test binary re-executed with `ip netns exec`).
//
// The regions are joined by a userspace WAN (wan_test.go) rather than by
// veth pairs with `tc netem`, because the kernels this runs on may lack
// sch_netem: each namespace gets a TUN device on one /24 and the test
// process moves packets between them, holding a packet between two
// regions 40 ms and optionally dropping a share of what a region sends.
// Its own lateness is measured and reported with the latency figures.
//
// The tests need root, `ip netns` and /dev/net/tun; without them they skip
// with a message, except under CI=true where they fail. Namespaces, TUN
// devices and processes are named per run and removed even when a test
// fails.
package cascade
