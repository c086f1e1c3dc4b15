"""Match a customer's words to a knowledge-base article, and know when not to."""

# the threshold is chosen as if at least this share of the mail were about topics no article answers
# (see calibrate.traffic_weights); here so that config and CLI need not import scikit-learn
DEFAULT_OUT_OF_SCOPE_SHARE = 0.2
# the articles model's name, on its card: here so that checking a saved card needs no scikit-learn
MODEL_NAME = "tfidf-svm-4"
