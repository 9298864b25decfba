"""A script written for Microsoft Recommenders' SLi-Rec quick start runs with only its imports
changed (``recommenders.models.deeprec`` -> ``tf_lsrec.compat.deeprec``)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

# The values of Microsoft's recommenders/models/deeprec/config/sli_rec.yaml.
MS_SLI_REC_YAML = """\
data:
    user_vocab: user_vocab.pkl
    item_vocab: item_vocab.pkl
    cate_vocab: category_vocab.pkl
model:
    model_type: sli_rec
    method: classification
    layer_sizes: [100, 64]
    activation: [relu, relu]
    user_dropout: True
    dropout: [0.3, 0.3]
    item_embedding_dim: 32
    cate_embedding_dim: 8
    user_embedding_dim: 16
train:
    init_method: tnormal
    init_value: 0.01
    embed_l2: 0.0001
    embed_l1: 0.0000
    layer_l2: 0.0001
    layer_l1: 0.0000
    cross_l2: 0.0000
    cross_l1: 0.000
    learning_rate: 0.001
    loss: softmax
    optimizer: adam
    epochs: 50
    batch_size: 400
    enable_BN: True
    EARLY_STOP: 10
    max_seq_length: 50
    need_sample: True
    train_num_ngs: 4
    hidden_size: 40
    attention_size: 40
    att_fcn_layer_sizes: [80, 40]
info:
    show_step: 100
    save_model: True
    save_epoch: 1
    metrics: ['auc', 'logloss']
    pairwise_metrics: ['mean_mrr', 'ndcg@2;4;6', 'group_auc']
    write_tfevents: False
"""

# The quick-start notebook's code, imports changed and nothing else.
SCRIPT = """\
import json, os, sys
from tf_lsrec.compat.deeprec.deeprec_utils import prepare_hparams
from tf_lsrec.compat.deeprec.models.sequential.sli_rec import SLI_RECModel as SeqModel
from tf_lsrec.compat.deeprec.io.sequential_iterator import SequentialIterator

data_path, yaml_file = sys.argv[1], sys.argv[2]
train_file = os.path.join(data_path, "train_data")
valid_file = os.path.join(data_path, "valid_data")
test_file = os.path.join(data_path, "test_data")
user_vocab = os.path.join(data_path, "user_vocab.pkl")
item_vocab = os.path.join(data_path, "item_vocab.pkl")
cate_vocab = os.path.join(data_path, "category_vocab.pkl")
output_file = os.path.join(data_path, "output.txt")
EPOCHS, BATCH_SIZE, RANDOM_SEED = 1, 400, 42
valid_num_ngs, test_num_ngs, train_num_ngs = 4, 9, 4

hparams = prepare_hparams(yaml_file, embed_l2=0., layer_l2=0., learning_rate=0.001,
                          epochs=EPOCHS, batch_size=BATCH_SIZE, show_step=20,
                          MODEL_DIR=os.path.join(data_path, "model/"),
                          SUMMARIES_DIR=os.path.join(data_path, "summary/"),
                          user_vocab=user_vocab, item_vocab=item_vocab, cate_vocab=cate_vocab,
                          need_sample=True, train_num_ngs=train_num_ngs)
input_creator = SequentialIterator
model = SeqModel(hparams, input_creator, seed=RANDOM_SEED)
print(model.run_eval(test_file, num_ngs=test_num_ngs))
model = model.fit(train_file, valid_file, valid_num_ngs=valid_num_ngs)
res_syn = model.run_eval(test_file, num_ngs=test_num_ngs)
model_best_trained = SeqModel(hparams, input_creator, seed=RANDOM_SEED)
path_best_trained = os.path.join(hparams.MODEL_DIR, "best_model")
model_best_trained.load_model(path_best_trained)
res_best = model_best_trained.run_eval(test_file, num_ngs=test_num_ngs)
model_best_trained.predict(test_file, output_file)
print("RESULT " + json.dumps({"res_syn": res_syn, "res_best": res_best}))
"""


@pytest.fixture(scope="module")
def quickstart_data(tmp_path_factory):
    from tf_lsrec.data.prepare import make_planted_dataset

    out = tmp_path_factory.mktemp("ms_quickstart")
    make_planted_dataset(str(out), n_users=300, seed=3)
    return out


def test_microsoft_quickstart_script_runs_with_changed_imports(quickstart_data):
    yaml_file = quickstart_data / "sli_rec.yaml"
    yaml_file.write_text(MS_SLI_REC_YAML)
    script = quickstart_data / "quickstart.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, str(script), str(quickstart_data), str(yaml_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    results = json.loads(line[len("RESULT ") :])
    expected_keys = ["auc", "logloss", "mean_mrr", "ndcg@2", "ndcg@4", "ndcg@6", "group_auc"]
    assert list(results["res_syn"]) == expected_keys
    assert list(results["res_best"]) == expected_keys
    assert "eval valid at epoch 1:" in proc.stdout and "best epoch: 1" in proc.stdout
    # One epoch saved the best model; the reloaded copy evaluates to the same numbers.
    assert results["res_best"] == results["res_syn"]
    preds = (quickstart_data / "output.txt").read_text().splitlines()
    assert len(preds) == sum(1 for _ in open(quickstart_data / "test_data"))
