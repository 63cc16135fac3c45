#!/bin/bash
# The probes of issue 16 (reliability) against one gputrain binary, each in a scratch
# folder under /tmp with its own copy of MNIST (a probe may overwrite a data file):
#
#   bash docs/results/reliability-probes.sh BINARY LABEL > probes-LABEL.tsv
#
# One line per probe: the probe, the exit status, what happened (the message's last
# line, files left). The oversized runs go under `ulimit -v 8 GB`, so that a binary
# that does try to allocate fails at once instead of squeezing a shared machine.
# Needs make data (data/mnist), make data-insteval, jq and bc.
set -u
B=$(realpath "$1"); L=$2
REPO=$(cd "$(dirname "$0")/../.." && pwd)
R=/tmp/gputrain-probes-$L; rm -rf "$R"; mkdir -p "$R"
D=$R/data; cp -r "$REPO/data/mnist" "$D"
IE="ratings:$REPO/data/insteval/insteval.csv:user=s,item=d,rating=y"
C="-device cpu -threads 1 -data $D"
out() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }
last() { grep -v '^\s*$' "$1" | tail -n 1 | cut -c1-400; }
waitfor() { for i in $(seq 1 ${3:-600}); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
cd $R

# 1 SIGTERM mid-run
$B $C -epochs 200 -limit 6000 -save run.safetensors > o1 2> e1 & p=$!
waitfor o1 'epoch 1/200' 1200; sleep 0.3; kill -TERM $p; wait $p; c=$?
ck=$( [ -f run.safetensors ] && echo "run.safetensors exists" || echo "no checkpoint")
out "kill -TERM during -epochs 200 -save run.safetensors" $c "$(last e1) [$ck]"
rm -f run.safetensors
# 1b second signal
# (wide layers and large batches: a step long enough for the second signal to come in it)
$B $C -epochs 200 -limit 2000 -hidden 1024,1024 -batch 1000 -save run2.safetensors > o1b 2> e1b & p=$!
waitfor o1b "epoch 1/200" 1200; kill -TERM $p; sleep 0.1; kill -TERM $p; wait $p; c=$?
out "kill -TERM twice (a second one while the step finishes)" $c "$(last e1b)"
# 1c SIGUSR1
$B $C -epochs 200 -limit 6000 -save run3.safetensors > o1c 2> e1c & p=$!
waitfor o1c 'epoch 1/200' 1200; kill -USR1 $p; waitfor e1c 'training goes on' 100
n=$(grep -c '^epoch' o1c); sleep 0.5; alive=$(kill -0 $p 2>/dev/null && echo "still training" || echo "ended"); m=$(grep -c '^epoch' o1c)
kill -TERM $p 2>/dev/null; wait $p; c=$?
out "kill -USR1 during a run (then -TERM)" $c "after USR1: $alive ($n then $m epochs); $(grep -m1 'checkpoint saved' e1c | cut -c1-200)"
# 1d no -save
$B $C -epochs 1 -limit 1000 > o1d 2> e1d; c=$?
out "a run without -save" $c "$(grep -m1 'not saved' o1d)"

# 2 oversized
for a in "-batch 10000000" "-hidden 100000000"; do
  ( ulimit -v 8000000; $B $C -epochs 1 $a > o2 2> e2 ); c=$?
  out "$a (under ulimit -v 8 GB)" $c "$(grep -m1 -v '^\s*$' e2 | cut -c1-300)"
done
# 3 numbers
for a in "-lr NaN" "-lr Inf" "-l2 NaN"; do
  $B $C -epochs 1 -limit 1000 $a > o3 2> e3; c=$?
  out "$a" $c "$(last e3) $(grep -o 'lr [0-9.e-]*' o3 | head -1)"
done
$B $C -epochs 3 -limit 3000 -lr 1e6 > o3b 2> e3b; c=$?
out "Adam -lr 1e6" $c "$(last e3b) $(grep '^test' o3b)"

# 4 resume
for s in "-lr-schedule step:1:0.5" "-warmup 1.5" "-lr-schedule cosine" "-early-stop 1 -early-stop-min-delta 1"; do
  $B $C -epochs 3 -limit 3000 $s -json > oa 2> ea
  for try in 1 2 3; do # again if the kill came after the run's end (a fast epoch)
    rm -f r.safetensors
    $B $C -epochs 3 -limit 3000 $s -save r.safetensors > ob 2> eb & p=$!
    for i in $(seq 1 2000); do [ -f r.safetensors ] && break; sleep 0.01; done
    kill -9 $p; wait $p 2>/dev/null
    $B -device cpu -threads 1 -resume r.safetensors -json > oc 2> ec; c=$?
    grep -q 'trains nothing more' ec || break
  done
  A=$(tail -n1 oa | jq -c '[.history[].learning_rate, .test_loss, (.history|length)]' 2>/dev/null)
  Z=$(tail -n1 oc | jq -c '[.history[].learning_rate, .test_loss, (.history|length)]' 2>/dev/null)
  eq=$([ -n "$A" ] && [ "$A" = "$Z" ] && echo "equal" || echo "DIFFERENT")
  out "resume after kill -9 with $s" $c "uninterrupted [lr per epoch…, test loss, epochs] $A; resumed $Z: $eq $(last ec | grep gputrain)"
done

# 5 files
$B $C -epochs 1 -limit 1000 -save same.png -plot same.png > o5 2> e5; c=$?
out "-save same.png -plot same.png" $c "$(last e5 | grep gputrain) [same.png is: $(head -c 8 same.png 2>/dev/null | tr -dc 'A-Za-z{"' | head -c 12)]"
m=$(md5sum $D/t10k-labels-idx1-ubyte.gz | cut -c1-8)
$B $C -epochs 1 -limit 1000 -save $D/t10k-labels-idx1-ubyte.gz > o6 2> e6; c=$?
m2=$(md5sum $D/t10k-labels-idx1-ubyte.gz | cut -c1-8)
out "-save onto a data file (t10k-labels-idx1-ubyte.gz)" $c "$(last e6 | grep gputrain) [data file $( [ $m = $m2 ] && echo unchanged || echo REPLACED)]"
cp "$REPO"/data/mnist/* $D/
mkdir -p two && cd two
for r in 1 2; do
  $B $C -epochs 200 -limit 6000 > o7 2> e7 & p=$!
  waitfor o7 'epoch 1/200' 1200; kill -INT $p; wait $p
done
out "two interrupted runs without -save" - "files: $(ls | grep -c safetensors) ($(ls | grep safetensors | tr '\n' ' '))"
cd $R
for a in "-save $R/missing/x.safetensors" "-plot $R/missing/x.png" "-history $R/missing/h.csv" "-plot /proc/x.png"; do
  t0=$(date +%s.%N); $B $C -epochs 2 -limit 3000 $a > o8 2> e8; c=$?; t1=$(date +%s.%N)
  out "unwritable $a (-epochs 2)" $c "after $(printf %.1f $(echo "$t1 - $t0" | bc)) s, $(grep -c '^epoch' o8) epochs, test figures $(grep -q '^test' o8 && echo printed || echo 'not printed'): $(last e8)"
done

# 6 stale temporary files: kill -9 a run that saves every epoch until a .tmp is left
mkdir -p st && cd st
for i in $(seq 1 40); do
  $B $C -epochs 100000 -limit 64 -batch 64 -val-split 0 -save s.safetensors > /dev/null 2>&1 & p=$!
  sleep 0.$((RANDOM % 9 + 1)); kill -9 $p; wait $p 2>/dev/null
  ls -a | grep -q tmp && break
done
left=$(ls -a | grep tmp | head -1)
$B $C -epochs 1 -limit 64 -batch 64 -val-split 0 -save s.safetensors > o9 2> e9; c=$?
out "stale .tmp file of a killed save, then a run with the same -save" $c "left by kill -9 after $i tries: ${left:-none}; after the next run: $(ls -a | grep -c tmp) temporary files; $(grep -m1 removed o9)"
cd $R

# 7 stdout to a full device
$B $C -epochs 1 -limit 1000 -json > /dev/full 2> e10; c=$?
out "-json > /dev/full" $c "$(last e10)"

# 8 the flags and files of the commands that came with data-parallel training,
# recommenders, ONNX export and TensorBoard
$B $C -epochs 1 -limit 500 -save ck.safetensors > /dev/null 2>&1
echo "not a folder" > notes.txt
for a in "-tensorboard notes.txt" "-tb-histograms -1" "-tb-histograms NaN" "-save-every -5"; do
  $B $C -epochs 1 -limit 500 $a > o 2> e; c=$?; out "$a" $c "$(last e)"
done
for a in "export -resume ck.safetensors -onnx x.onnx -opset NaN" "recommend -resume ck.safetensors -user 1 -k NaN" "recommend -resume ck.safetensors -user 1 -k -3" "recommend -resume ck.safetensors -user 1 -threads -1"; do
  $B $a > o 2> e; c=$?; out "$a" $c "$(last e)"
done
echo "someone's model" > notes.onnx
$B export -resume ck.safetensors -onnx notes.onnx > o 2> e; c=$?; out "export -onnx onto someone's notes.onnx" $c "$(last e) [notes.onnx: $(head -c 15 notes.onnx | tr -dc 'a-z \047')]"
( ulimit -v 8000000; $B -device cpu -threads 1 -dataset "$IE" -model mf:dim=100000000 -epochs 1 > o 2> e ); c=$?
out "-dataset ratings:insteval.csv -model mf:dim=100000000 (under ulimit -v 8 GB)" $c "$(grep -m1 -v '^\s*$' e | cut -c1-300)"
$B -device cpu -threads 1 -dataset "$IE" -model mf:l2=NaN -epochs 1 > o 2> e; c=$?; out "-model mf:l2=NaN" $c "$(last e)"
