/** The moderation taxonomy. Order matters: it is the column order of fused score tensors. */
export const CATEGORIES = ['sexual', 'hate', 'harassment', 'violence', 'offensive'] as const;
export type Category = (typeof CATEGORIES)[number];

/** nsfwjs class order, as the converted image model emits them. */
export const NSFW_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;
