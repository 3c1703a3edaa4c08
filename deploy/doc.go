// Package deploy holds the deployment files: for the docker compose stack
// (docker-compose.yml at the repository root) the Prometheus configuration
// and the MongoDB replica-set init script it mounts, and the Kubernetes
// manifests under kubernetes/. It has no Go API. Its tests check them
// without a container engine, with the projects' own code: compose-go
// loads docker-compose.yml (images pinned, loopback and .env-overridable
// ports, subnet, memory, health checks and start order, sidecars, mounts,
// the pacbench service), Toxiproxy's and Prometheus's own types and loader
// read their configs, BuildKit's parser and linter check the Dockerfile,
// and the compose profiles are validated and their dry-run output is
// compared with golden files under testdata/.
package deploy
