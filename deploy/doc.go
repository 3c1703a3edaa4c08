// Package deploy holds the configuration files the docker compose stack
// (docker-compose.yml at the repository root) mounts: the Toxiproxy proxy
// list, the Prometheus configuration and the MongoDB replica-set init
// script. It has no Go API; its tests load docker-compose.yml with
// compose-go and check the stack's invariants without a Docker engine
// (services, health checks, start order, netem sidecars, loopback-only
// ports, mounts, and that the names the profiles use exist).
package deploy
