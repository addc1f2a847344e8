// Command fakelive serves the fake Alibaba Cloud and Kubernetes APIs of
// internal/fakecloud on loopback, for trying `--live` by hand:
//
//	go run ./internal/fakecloud/fakelive [-scenario shop|generated] [-nodes N -groups N] [-latency 20ms]
//
// It prints the flags and environment to pass to gwdoctor, then serves
// until interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/gwdoctor/gwdoctor/internal/fakecloud"
)

func main() {
	scenario := flag.String("scenario", "shop", "shop (small, every join) or generated (-nodes, -groups)")
	nodes := flag.Int("nodes", 1000, "nodes of the generated scenario")
	groups := flag.Int("groups", 200, "security groups of the generated scenario")
	latency := flag.Duration("latency", 0, "latency added to every call")
	deny := flag.String("deny", "", "RAM action to answer with an access-denied error, e.g. ecs:DescribeSecurityGroupAttribute")
	flag.Parse()

	c, k := fakecloud.Shop()
	if *scenario == "generated" {
		c, k = fakecloud.Generate(*nodes, *groups)
	} else if *scenario != "shop" {
		fmt.Fprintf(os.Stderr, "fakelive: unknown scenario %q\n", *scenario)
		os.Exit(2)
	}
	cloud := fakecloud.NewAliyun(c)
	kube := fakecloud.NewKube(k)
	defer cloud.Close()
	defer kube.Close()
	cloud.Latency, kube.Latency = *latency, *latency
	if *deny != "" {
		cloud.Faults.Deny = map[string]bool{*deny: true}
	}
	dir, err := os.MkdirTemp("", "fakelive-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakelive:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	kc, err := kube.WriteKubeconfig(dir, "fake")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakelive:", err)
		os.Exit(1)
	}
	fmt.Printf(`export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIfake ALIBABA_CLOUD_ACCESS_KEY_SECRET=fake-secret ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
gwdoctor snapshot --live --aliyun-endpoint %s --kubeconfig %s --region cn-hangzhou --gateway %s -o snapshot.json
`, cloud.URL, kc, c.GatewayID)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	start := time.Now()
	<-sig
	fmt.Fprintf(os.Stderr, "fakelive: %d cloud calls in %v\n", cloud.TotalCalls(), time.Since(start).Round(time.Second))
}
