package main

// gputrain recommend: the top items for a user, from a recommender's checkpoint.
//
//	gputrain recommend -resume FILE -user ID [-k 10] [-dataset …] [-json] [-device …]
//
// The checkpoint holds the model (its description and weights) and the name of the
// data set it was trained on, not the data: recommend reads the data file again (or
// -dataset's), for the ids of users and items and for the items the user has rated,
// and refuses a file whose ids are numbered otherwise than the training file's (the
// checkpoint keeps a fingerprint of them). It scores every item the user has not rated
// and prints the K best with their predicted ratings. A user the data does not hold is
// an error: the model has no embedding for a new user.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
	"github.com/gputrain/gputrain/train/recsys"
)

// recommendation is one recommended item.
type recommendation struct {
	Item  string  `json:"item"`
	Score float64 `json:"score"`
}

// recommendReport is recommend's -json output.
type recommendReport struct {
	Checkpoint string           `json:"checkpoint"`
	Dataset    string           `json:"dataset"`
	User       string           `json:"user"`
	Rated      int              `json:"rated"`
	Items      []recommendation `json:"items"`
}

// recommendFlags are recommend's flags.
type recommendFlags struct {
	resume, user, dataset, device string
	k, threads                    int
	json                          bool
}

// recommendFlagSet defines recommend's flags into f.
func recommendFlagSet(f *recommendFlags) *flag.FlagSet {
	fs := newFlagSet("gputrain recommend")
	fs.StringVar(&f.resume, "resume", "", "the recommender's checkpoint (required)")
	fs.StringVar(&f.user, "user", "", "the user's id, as in the data file (required)")
	intFlag(fs, &f.k, "k", 10, atLeast(1), "how many items to recommend")
	fs.StringVar(&f.dataset, "dataset", "", "the ratings data set (default: the checkpoint's)")
	fs.StringVar(&f.device, "device", "auto", "device: auto, cpu or cuda")
	intFlag(fs, &f.threads, "threads", 0, atLeast(1).orZero("all cores"), "CPU threads for the cpu device")
	fs.BoolVar(&f.json, "json", false, "print one JSON object with the recommendations")
	return fs
}

// runRecommend is the recommend subcommand; it returns the exit status.
func runRecommend(args []string, stdout, stderr io.Writer) int {
	var f recommendFlags
	fs := recommendFlagSet(&f)
	resume, user, k, dataset, devName, threads, asJSON := &f.resume, &f.user, &f.k, &f.dataset, &f.device, &f.threads, &f.json
	usage := func(err error) int {
		fmt.Fprintf(stderr, "gputrain recommend: %v\n", oneLine(err))
		return 2
	}
	if err := parseArgs(fs, args, "usage: gputrain recommend -resume FILE -user ID [flags]", stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return usage(err)
	}
	switch {
	case *resume == "":
		return usage(fmt.Errorf("-resume FILE names the recommender's checkpoint"))
	case *user == "":
		return usage(fmt.Errorf("-user ID names the user to recommend for (an id of the data file's user column)"))
	}
	ck, err := checkpoint.Open(*resume)
	if err != nil {
		return usage(err)
	}
	dev, err := device.Open(*devName, device.Options{Threads: *threads})
	if err != nil {
		return usage(err)
	}
	defer dev.Close()
	r, err := recommend(ck, dev, *dataset, *user, *k)
	if err != nil {
		fmt.Fprintf(stderr, "gputrain recommend: %v\n", oneLine(err))
		if errors.Is(err, errSetup) {
			return 2
		}
		return 1
	}
	if *asJSON {
		r.Checkpoint = ck.Path
		b, err := json.Marshal(r)
		if err != nil {
			fmt.Fprintf(stderr, "gputrain recommend: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	fmt.Fprintf(stdout, "top %d of the items user %s has not rated (%d rated), by predicted rating; %s, %s:\n", len(r.Items), r.User, r.Rated, r.Dataset, ck.Path)
	for i, it := range r.Items {
		fmt.Fprintf(stdout, "%3d  %-12s %.4f\n", i+1, it.Item, it.Score)
	}
	return 0
}

// recommend scores the items user has not rated with ck's model.
func recommend(ck *checkpoint.Checkpoint, dev device.Backend, dataset, user string, k int) (*recommendReport, error) {
	stored := ck.Settings.Flags
	if stored == nil || ck.Spec == nil {
		return nil, setup(fmt.Errorf("%s was not saved by a gputrain recommender run (it has no model description or settings)", ck.Path))
	}
	if dataset == "" {
		dataset = stored["dataset"]
	}
	if !isRatings(dataset) {
		return nil, setup(fmt.Errorf("%s was trained on %s, not a ratings data set: recommend needs a recommender (mf, twotower); use gputrain predict", ck.Path, dataset))
	}
	all, err := data.LoadRatings(dataset)
	if err != nil {
		return nil, setup(err)
	}
	if want, ok := stored["ratings"]; ok {
		if have := idsFingerprint(all); have != want {
			return nil, setup(fmt.Errorf("%s numbers its users and items otherwise than the data the model was trained on (%s now, %s then): the embeddings would belong to other ids",
				dataset, have, want))
		}
	}
	side := false
	switch m := ck.Spec.Root.(type) {
	case *nn.MF:
	case *nn.TwoTower:
		side = len(m.UserFields)+len(m.ItemFields) > 0
	default:
		return nil, setup(fmt.Errorf("%s holds a %s model, not a recommender (mf or twotower)", ck.Path, ck.Spec.Root.Kind()))
	}
	feat := recsys.NewFeatures(all, side)
	if len(ck.Settings.Input) != 1 || ck.Settings.Input[0] != feat.Width() {
		return nil, setup(fmt.Errorf("%s's model takes %v ids per example, %s gives %d", ck.Path, ck.Settings.Input, dataset, feat.Width()))
	}
	u := -1
	for i, id := range all.UserIDs {
		if id == user {
			u = i
			break
		}
	}
	if u < 0 {
		return nil, fmt.Errorf("user %q is not in %s (%d users, ids such as %s): the model has no embedding for a new user; recommend for one of the data's users",
			user, all.Name, all.NumUsers(), strings.Join(all.UserIDs[:min(3, len(all.UserIDs))], ", "))
	}
	m, err := ck.LoadModel(dev, 1024)
	if err != nil {
		return nil, setup(err)
	}
	rated := map[int32]bool{}
	for r, v := range all.Users {
		if int(v) == u {
			rated[all.Items[r]] = true
		}
	}
	var users, items []int32
	for i := range int32(all.NumItems()) {
		if !rated[i] {
			users, items = append(users, int32(u)), append(items, i)
		}
	}
	r := &recommendReport{Dataset: all.Name, User: user, Rated: len(rated)}
	if len(items) == 0 {
		return r, nil
	}
	scores, err := recsys.ModelScorer(m, feat)(users, items)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	// best first; equal scores in item order
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	for _, i := range order[:min(k, len(order))] {
		r.Items = append(r.Items, recommendation{Item: all.ItemIDs[items[i]], Score: scores[i]})
	}
	return r, nil
}
