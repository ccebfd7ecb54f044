/**
 * What `inspect` and `embeddings` return (issue 12: the explainer). Plain data, structured-
 * cloneable, so the worker's RemoteModel returns the same as the in-process Model.
 *
 *   T  prompt positions   L  layers   NH  query heads   V  vocabulary   C  hidden size
 */

export interface InspectOptions {
  /** Capture the attention probabilities of the chosen layers and heads (default false). */
  attention?: boolean;
  /** Top tokens of the last position after each layer, through the final norm and unembedding (default false). */
  logitLens?: boolean;
  /** Norms of the residual stream and of each layer's attention and MLP updates (default false). */
  residual?: boolean;
  /** Layers whose attention is captured (default all); the logit lens and residual norms cover every layer. */
  layers?: number[];
  /** Heads whose attention is captured (default all). */
  heads?: number[];
  /** Tokens per layer in the logit lens (default 5). */
  topK?: number;
}

export interface LensToken {
  tokenId: number;
  text: string;
  /** The raw score (after soft-capping where the model has it). */
  logit: number;
  /** softmax(logits) at temperature 1 over the whole valid vocabulary. */
  probability: number;
}

export interface InspectResult {
  ids: number[];
  /** Each id's text, as the tokenizer writes it. */
  tokens: string[];
  /** The layers and heads `attention` holds, in its order. */
  layers: number[];
  heads: number[];
  /**
   * attention[i][j]: layer layers[i], head heads[j]: the causal attention probabilities [T, T],
   * row-major (query t, key s): rows sum to 1, zero above the diagonal (and before a sliding window).
   */
  attention?: Float32Array[][];
  /** logitLens[l]: the top tokens of the last position had the residual stream after layer l gone straight to the unembedding. */
  logitLens?: LensToken[][];
  /**
   * Euclidean norms per position: `stream` [L + 1, T] the residual stream after the embedding (row 0)
   * and after each layer; `attention` and `mlp` [L, T] each layer's update to it.
   */
  residual?: { stream: Float32Array; attention: Float32Array; mlp: Float32Array };
}

/** A token and its cosine similarity to the query vector. */
export interface Neighbour {
  tokenId: number;
  text: string;
  similarity: number;
}

/** One term of embedding arithmetic, as it was read. */
export interface ArithmeticTerm {
  /** The term as given ('king', '-man', '+woman'). */
  term: string;
  sign: 1 | -1;
  /** The tokens of the word; a multi-token word contributes their mean (`averaged`). */
  tokenIds: number[];
  tokens: string[];
  averaged: boolean;
}

export interface ArithmeticResult {
  terms: ArithmeticTerm[];
  /** The nearest tokens to the sum, the terms' own tokens included (marked by the page, not removed). */
  neighbours: Neighbour[];
}

export interface Projection {
  /** [n, 2]: each input's coordinates on the first two principal components. */
  points: [number, number][];
  /** The share of the inputs' variance each component explains. */
  explained: [number, number];
}

/** The token embedding matrix, explored on the GPU (cosine similarity against every row). */
export interface Embeddings {
  /** The k rows most similar (cosine) to a vector [C] or a token's own row; a token's nearest is itself. */
  nearest(query: number | Float32Array, k: number): Promise<Neighbour[]>;
  /** Sums the terms' embeddings (signed; multi-token words by their tokens' mean) and returns the k nearest. */
  arithmetic(terms: string[], k: number): Promise<ArithmeticResult>;
  /** A 2-D PCA of the given tokens' embeddings (or vectors [C]), centred on their mean. */
  project(items: (number | Float32Array)[]): Promise<Projection>;
  /** A token's embedding row [C], as the model uses it (dequantized, times the embedding scale). */
  vector(tokenId: number): Promise<Float32Array>;
}
