"""Intent classification with calibrated out-of-scope rejection.

`types` holds the port (`IntentClassifier`, `IntentPrediction`, `OOS`); `data` loads `text,intent` files;
`training.train_intent_model` fits a `model.HybridIntentClassifier` (sentence embedding + character/word/pinyin
TF-IDF, one linear SVM, temperature scaling, threshold), optionally on an `encoder` fine-tuned for the intents;
`model.load_intent_model` / `is_stale` serve it.
Nothing heavy is imported here: scikit-learn is needed only for training.
"""
