/** The moderation taxonomy. Order matters: it is the column order of fused score tensors. */
export const CATEGORIES = ['sexual', 'hate', 'harassment', 'violence', 'offensive'] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * Evidence channels that the fusion classifier combines. Text inside images (OCR) and speech
 * (transcripts) are channels of their own because they fail differently from typed text.
 */
export const CHANNELS = ['text', 'image', 'ocr', 'speech'] as const;
export type Channel = (typeof CHANNELS)[number];

/** nsfwjs class order, as the converted image model emits them. */
export const NSFW_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;
