// Command fakelive serves the fake Alibaba Cloud and Kubernetes APIs of
// internal/fakecloud on loopback, for trying `--live` by hand:
//
//	go run ./internal/fakecloud/fakelive [-scenario shop|serverless|generated|fleet] [-nodes N -groups N] [-gateways N -endpoints N] [-latency 20ms]
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
	"github.com/gwdoctor/gwdoctor/internal/words"
)

func main() {
	scenario := flag.String("scenario", "shop", "shop (small, every join), serverless (a virtual node with ECI pods), generated (-nodes, -groups) or fleet (-gateways, -endpoints)")
	gateways := flag.Int("gateways", 10, "gateways of the fleet scenario")
	endpoints := flag.Int("endpoints", 1000, "endpoints per gateway of the fleet scenario")
	nodes := flag.Int("nodes", 1000, "nodes of the generated scenario")
	groups := flag.Int("groups", 200, "security groups of the generated scenario")
	latency := flag.Duration("latency", 0, "latency added to every call")
	deny := flag.String("deny", "", "RAM action to answer with an access-denied error, e.g. ecs:DescribeSecurityGroupAttribute")
	flag.Parse()

	c, k := fakecloud.Shop()
	switch *scenario {
	case "shop":
	case "serverless":
		c, k = fakecloud.Serverless()
	case "generated":
		c, k = fakecloud.Generate(*nodes, *groups)
	case "fleet":
		if *gateways < 1 {
			fmt.Fprintln(os.Stderr, "fakelive: -gateways must be at least 1")
			os.Exit(2)
		}
		c, k = fakecloud.Fleet(*gateways, *endpoints)
	default:
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
gwdoctor serve --live --aliyun-endpoint %[1]s --kubeconfig %[2]s --region cn-hangzhou --all-gateways --listen 127.0.0.1:9108
`, cloud.URL, kc, c.GatewayID)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	start := time.Now()
	<-sig
	fmt.Fprintf(os.Stderr, "fakelive: %s in %v\n", words.Count(cloud.TotalCalls(), "cloud call", "cloud calls"), time.Since(start).Round(time.Second))
}
