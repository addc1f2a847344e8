# gwdoctor: a static binary on distroless, running as a non-root user.
#   docker build -t gwdoctor:latest .
# Build stage: the Go version go.mod asks for; CGO off for a static binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gwdoctor ./cmd/gwdoctor

# Run stage: distroless static (CA certificates and tzdata, no shell, no
# package manager), as its built-in nonroot user 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gwdoctor /gwdoctor
USER 65532:65532
EXPOSE 9108
ENTRYPOINT ["/gwdoctor"]
CMD ["serve", "--help"]
