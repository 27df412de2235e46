# Stand-in for registry.k8s.io/pause (the pod sandbox): k8s/local/pause.go, built static by
# scripts/k8s-images.sh and copied into an empty image.
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
