package cuda

// kernelID names one kernel of the embedded PTX; kernelTable gives its op family (the
// kernels/<family>.cu file) and symbol. This file has no build tag so that a plain
// `go test` checks the table against the PTX (kernelnames_test.go).
type kernelID int

const (
	kReLUForward kernelID = iota
	kLeakyReLUForward
	kSigmoidForward
	kTanhForward
	kGELUForward
	kReLUBackward
	kLeakyReLUBackward
	kSigmoidBackward
	kTanhBackward
	kGELUBackward
	kSoftmaxForward
	kSoftmaxBackward

	kAdd
	kSub
	kMul
	kDiv
	kBroadcastAdd
	kBroadcastSub
	kBroadcastMul
	kBroadcastDiv
	kAxpby
	kFill

	kReduceSum
	kReduceMean
	kReduceMax
	kReduceArgMax
	kReduceSumSquares
	kReduceNorm

	kSoftmaxCEForward
	kSoftmaxCEBackward
	kCrossEntropyForward
	kCrossEntropyBackward
	kMSEForward
	kMSEBackward

	kSGD
	kMomentum
	kAdam

	kDropoutMask
	kAugment

	kGatherF32
	kGatherU8F32
	kGatherI32

	kIm2Col
	kCol2Im

	kMaxPoolForward
	kAvgPoolForward
	kMaxPoolBackward
	kAvgPoolBackward

	kBatchNormForwardTrain
	kBatchNormInfer
	kBatchNormBackward

	kGELUTanhForward
	kGELUTanhBackward
	kCausalSoftmaxForward
	kScatterAdd
	kPermute
	kLayerNormForward
	kLayerNormBackward
	kLayerNormParamsBackward
	kLSTMCellForward
	kLSTMCellBackward
	kGRUCellForward
	kGRUCellBackward
	kBCEWithLogitsForward
	kBCEWithLogitsBackward

	kAddRows
	kSGDRows
	kMomentumRows
	kAdamRows
	kClearRows
	kRowsReset

	numKernels
)

type kernelName struct{ family, symbol string }

var kernelTable = [numKernels]kernelName{
	kReLUForward:       {"activation", "relu_forward_f32"},
	kLeakyReLUForward:  {"activation", "leaky_relu_forward_f32"},
	kSigmoidForward:    {"activation", "sigmoid_forward_f32"},
	kTanhForward:       {"activation", "tanh_forward_f32"},
	kGELUForward:       {"activation", "gelu_forward_f32"},
	kReLUBackward:      {"activation", "relu_backward_f32"},
	kLeakyReLUBackward: {"activation", "leaky_relu_backward_f32"},
	kSigmoidBackward:   {"activation", "sigmoid_backward_f32"},
	kTanhBackward:      {"activation", "tanh_backward_f32"},
	kGELUBackward:      {"activation", "gelu_backward_f32"},
	kSoftmaxForward:    {"activation", "softmax_forward_f32"},
	kSoftmaxBackward:   {"activation", "softmax_backward_f32"},

	kAdd:          {"binary", "add_f32"},
	kSub:          {"binary", "sub_f32"},
	kMul:          {"binary", "mul_f32"},
	kDiv:          {"binary", "div_f32"},
	kBroadcastAdd: {"binary", "broadcast_add_f32"},
	kBroadcastSub: {"binary", "broadcast_sub_f32"},
	kBroadcastMul: {"binary", "broadcast_mul_f32"},
	kBroadcastDiv: {"binary", "broadcast_div_f32"},
	kAxpby:        {"binary", "axpby_f32"},
	kFill:         {"binary", "fill_f32"},

	kReduceSum:        {"reduce", "reduce_sum_f32"},
	kReduceMean:       {"reduce", "reduce_mean_f32"},
	kReduceMax:        {"reduce", "reduce_max_f32"},
	kReduceArgMax:     {"reduce", "reduce_argmax_f32"},
	kReduceSumSquares: {"reduce", "reduce_sum_squares_f32"},
	kReduceNorm:       {"reduce", "reduce_norm_f32"},

	kSoftmaxCEForward:     {"loss", "softmax_cross_entropy_forward_f32"},
	kSoftmaxCEBackward:    {"loss", "softmax_cross_entropy_backward_f32"},
	kCrossEntropyForward:  {"loss", "cross_entropy_forward_f32"},
	kCrossEntropyBackward: {"loss", "cross_entropy_backward_f32"},
	kMSEForward:           {"loss", "mse_forward_f32"},
	kMSEBackward:          {"loss", "mse_backward_f32"},

	kSGD:      {"optimizer", "sgd_update_f32"},
	kMomentum: {"optimizer", "momentum_update_f32"},
	kAdam:     {"optimizer", "adam_update_f32"},

	kDropoutMask: {"random", "dropout_mask_f32"},
	kAugment:     {"random", "augment_f32"},

	kGatherF32:   {"gather", "gather_f32"},
	kGatherU8F32: {"gather", "gather_u8_f32"},
	kGatherI32:   {"gather", "gather_i32"},

	kIm2Col: {"conv", "im2col_f32"},
	kCol2Im: {"conv", "col2im_f32"},

	kMaxPoolForward:  {"pool", "max_pool_forward_f32"},
	kAvgPoolForward:  {"pool", "avg_pool_forward_f32"},
	kMaxPoolBackward: {"pool", "max_pool_backward_f32"},
	kAvgPoolBackward: {"pool", "avg_pool_backward_f32"},

	kBatchNormForwardTrain: {"batchnorm", "batchnorm_forward_train_f32"},
	kBatchNormInfer:        {"batchnorm", "batchnorm_infer_f32"},
	kBatchNormBackward:     {"batchnorm", "batchnorm_backward_f32"},

	kGELUTanhForward:      {"activation", "gelu_tanh_forward_f32"},
	kGELUTanhBackward:     {"activation", "gelu_tanh_backward_f32"},
	kCausalSoftmaxForward: {"activation", "causal_softmax_forward_f32"},
	kScatterAdd:           {"gather", "scatter_add_f32"},
	kPermute:              {"permute", "permute_f32"},

	kLayerNormForward:        {"layernorm", "layernorm_forward_f32"},
	kLayerNormBackward:       {"layernorm", "layernorm_backward_f32"},
	kLayerNormParamsBackward: {"layernorm", "layernorm_params_backward_f32"},

	kLSTMCellForward:  {"rnn", "lstm_cell_forward_f32"},
	kLSTMCellBackward: {"rnn", "lstm_cell_backward_f32"},
	kGRUCellForward:   {"rnn", "gru_cell_forward_f32"},
	kGRUCellBackward:  {"rnn", "gru_cell_backward_f32"},

	kBCEWithLogitsForward:  {"loss", "bce_with_logits_forward_f32"},
	kBCEWithLogitsBackward: {"loss", "bce_with_logits_backward_f32"},

	kAddRows:      {"optimizer", "add_rows_i32"},
	kSGDRows:      {"optimizer", "sgd_update_rows_f32"},
	kMomentumRows: {"optimizer", "momentum_update_rows_f32"},
	kAdamRows:     {"optimizer", "adam_update_rows_f32"},
	kClearRows:    {"optimizer", "clear_rows_f32"},
	kRowsReset:    {"optimizer", "rows_reset_i32"},
}
