package app_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// BenchmarkCampaignDelivery measures consent-checked campaign messages a
// second on the embedded store: 5,000 customers who opted in by keyword,
// one campaign at an unthrottled rate, each message through Send with the
// policy check and its recipient marked in the same transaction. Run with
// -benchtime=1x; the metrics are msgs/s and the process's CPU time per
// message during delivery (cpu-µs/msg: on a shared machine it moves far
// less with the load than msgs/s), and the bytes and write calls the
// process made per message (written-B/msg, writes/msg: WAL frames and
// checkpoints, from /proc/self/io; they do not move with the load at
// all). PARLEY_BENCH_CPUPROFILE names a file
// for a CPU profile of the deliveries alone, without the setup
// (BENCHMARKS.md). PARLEY_BENCH_CUSTOMERS changes the 5,000 (a
// campaign's start and its last small chunk weigh less in a bigger one).
func BenchmarkCampaignDelivery(b *testing.B) {
	customers := benchEnvInt("PARLEY_BENCH_CUSTOMERS", 5000)
	ctx := context.Background()
	db := openStore(b)
	a := app.New(db, app.Config{Password: cheap, SendPerConversation: 1e9, SendBurst: 1e9, CampaignConcurrency: 256})
	auth, err := a.Register(ctx, app.Registration{Handle: "shop", Password: "benchmark password", Kind: parley.KindBusiness})
	if err != nil {
		b.Fatal(err)
	}
	biz, _ := a.Authenticate(ctx, auth.Token)
	admin, err := a.ActAs(ctx, biz, "shop")
	if err != nil {
		b.Fatal(err)
	}
	st, _ := a.Settings(ctx, admin)
	st.Messaging.PromoCap, st.Messaging.PromoCapDays = 100, 1
	if _, err := a.PutSettings(ctx, admin, st); err != nil {
		b.Fatal(err)
	}
	name, kw := "Offers", "join"
	topic, err := a.SaveTopic(ctx, admin, "", app.TopicInput{Name: &name, Keyword: &kw})
	if err != nil {
		b.Fatal(err)
	}
	tname, body, approved := "Sale", "Hi {{contact.first_name}}, 20% off today only", parley.TemplateApproved
	tp, err := a.SaveTemplate(ctx, admin, "", app.TemplateInput{Name: &tname, Body: &body, Topic: &topic.ID, Status: &approved})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				auth, err := a.Register(ctx, app.Registration{Handle: fmt.Sprintf("cust%05d", i), Password: "benchmark password",
					DisplayName: fmt.Sprintf("Cust %d", i)})
				if err != nil {
					b.Error(err)
					return
				}
				c, _ := a.Authenticate(ctx, auth.Token)
				conv, _, err := a.CreateDirect(ctx, c, "shop")
				if err == nil {
					_, _, err = a.Send(ctx, c, conv.ID, app.SendInput{ClientID: "j", Text: "JOIN"})
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range customers {
		work <- i
	}
	close(work)
	wg.Wait()
	if path := os.Getenv("PARLEY_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b.ResetTimer()
	var total, cpu time.Duration
	var wbytes, writes int64
	sent := 0
	for range b.N {
		c, err := a.CreateCampaign(ctx, admin, app.CampaignInput{Name: fmt.Sprint("bench ", time.Now().UnixNano()), Template: tp.ID, Rate: 1e5, SendNow: true})
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0, io0 := time.Now(), cpuTime(b), processIO()
		var v *app.CampaignView
		for v == nil || v.Status != parley.CampaignDone {
			if err := a.CampaignTick(ctx); err != nil {
				b.Fatal(err)
			}
			if v, err = a.Campaign(ctx, admin, c.ID); err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
		cpu += cpuTime(b) - cpu0
		io1 := processIO()
		wbytes, writes = wbytes+io1.wchar-io0.wchar, writes+io1.syscw-io0.syscw
		if v.Sent != customers {
			b.Fatalf("sent %d of %d: %+v", v.Sent, customers, v)
		}
		sent += v.Sent
	}
	b.ReportMetric(float64(sent)/total.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(sent), "cpu-µs/msg")
	if writes > 0 {
		b.ReportMetric(float64(wbytes)/float64(sent), "written-B/msg")
		b.ReportMetric(float64(writes)/float64(sent), "writes/msg")
	}
}

// ioCounts are the process's write counters from /proc/self/io: bytes
// passed to write calls (WAL frames, checkpoints) and how many calls.
type ioCounts struct{ wchar, syscw int64 }

// processIO reads them; zero where /proc is missing.
func processIO() ioCounts {
	var c ioCounts
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "wchar":
			c.wchar = n
		case "syscw":
			c.syscw = n
		}
	}
	return c
}
