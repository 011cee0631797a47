/**
 * The text printed on the bench's pages, chosen with a seeded generator so that every run
 * prints the same pages: Vietnamese paragraphs with every tone mark on every vowel letter
 * (capitals too), and classical Han text in columns with Nôm characters from CJK Extension B
 * (which Debian's fonts-hanazono draws in HanaMinB).
 */

/** Sentences written for the bench: archives, villages, the seasons; every diacritic occurs. */
const SENTENCES = [
  'Kho lưu trữ của tỉnh giữ hàng nghìn cuốn địa bạ, gia phả và hương ước được chép tay từ thế kỷ mười chín.',
  'Những trang giấy dó đã ngả màu vàng, mực nho loang ở mép, nhưng chữ vẫn còn đọc được nếu soi dưới ánh đèn.',
  'Ông Nguyễn Văn Hưởng, người giữ đình làng, kể rằng mỗi năm vào tháng Chạp dân làng lại phơi sách một lần.',
  'Ở vùng đồng bằng sông Hồng, ruộng đất công được chia lại theo định kỳ ba năm, ghi rõ tên chủ và số mẫu sào.',
  'Bà Trần Thị Ngữ nhớ từng thửa ruộng ven đê, từng cây gạo đầu thôn và tiếng trống ngũ liên mỗi khi nước lũ lên.',
  'Ấy là lúc trời vừa hửng sáng, sương còn đọng trên lá, khói bếp bay lảng vảng qua những mái rạ thấp.',
  'Ủy ban đã quyết định số hóa toàn bộ sổ bộ thuế đinh, để các nhà nghiên cứu khỏi phải lật những trang sắp rách.',
  'Đứa trẻ ngồi ở bậc thềm, ngước mắt nhìn đàn cò trắng bay ngang cánh đồng lúa chín vàng óng.',
  'Ếch nhái kêu râm ran suốt đêm hè, còn ngoài ngõ tiếng chó sủa xa xa lẫn với tiếng võng đưa kẽo kẹt.',
  'Ông đồ già viết câu đối đỏ bên hè phố, nét chữ phóng khoáng mà vẫn giữ được vẻ nghiêm trang cổ kính.',
  'Ưu tiên hàng đầu là bảo quản bản gốc: nhiệt độ ổn định, độ ẩm thấp và không để ánh nắng chiếu thẳng vào.',
  'Ỷ lại vào trí nhớ thì dễ sai, nên người xưa dặn con cháu phải chép lại gia phả mỗi khi họ có thêm đời mới.',
  'Thuở ấy đường sá gập ghềnh, muốn lên huyện phải lội qua suối, trèo qua đèo, mất trọn một ngày đường.',
  'Chiếc thuyền nan chở đầy rơm rạ trôi chầm chậm giữa dòng, người chèo đội nón lá, áo nâu sờn vai.',
  'Quyển sổ ghi rằng năm Tự Đức thứ mười hai, xã Phù Ủng nộp thuế bằng thóc, mỗi mẫu ruộng hai mươi bát.',
  'Ở chùa Dâu, các vị sư vẫn giữ những ván khắc gỗ thị đã mòn, dùng để in kinh vào dịp rằm tháng Giêng.',
  'Nước chảy đá mòn, nhưng chữ viết trên giấy tốt và mực tốt có thể sống lâu hơn cả những ngôi đình bằng gỗ lim.',
  'Tiếng chuông chiều ngân nga, gió nồm thổi nhẹ, mùi hoa bưởi thoang thoảng khắp khu vườn sau nhà.',
  'Muốn hiểu một làng quê, hãy đọc hương ước của nó: lệ cưới hỏi, lệ khao vọng, phạt vạ và việc giữ đê.',
  'Ẩn sau mỗi bản văn tự bán ruộng là một câu chuyện về mất mùa, nợ nần hay một đám cưới sắp tới.',
  'Ông lý trưởng ký tên, đóng dấu son, rồi trao văn bản cho người thư ký để vào sổ lưu của làng.',
  'Bức thư viết vội trên mảnh giấy mỏng, nét mực nhòe đi vì mưa, chỉ còn đọc được đôi ba chữ đầu dòng.',
  'Ở phía tây, dãy núi đá vôi nhấp nhô như đàn voi phục, còn phía đông là bãi bồi mênh mông cỏ lác.',
  'Mỗi độ xuân về, người ta lại khiêng kiệu rước thần hoàng ra đình, cờ quạt rực rỡ, chiêng trống vang lừng.',
];

/** Paragraphs of `sentences` sentences each, drawn in a seeded order. */
export function vietnameseParagraphs(rand: () => number, paragraphs: number, sentences: number): string[] {
  const pool = [...SENTENCES];
  // Fisher–Yates with the seeded generator: each page a different order, every run the same.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
  }
  return Array.from({ length: paragraphs }, (_, p) => pool.slice(p * sentences, (p + 1) * sentences).join(' '));
}

/** The Thousand Character Classic (千字文), classical Literary Chinese in the public domain. */
const CLASSIC =
  '天地玄黃宇宙洪荒日月盈昃辰宿列張寒來暑往秋收冬藏閏餘成歲律呂調陽雲騰致雨露結為霜金生麗水玉出崑岡劍號巨闕珠稱夜光' +
  '果珍李柰菜重芥薑海鹹河淡鱗潛羽翔龍師火帝鳥官人皇始制文字乃服衣裳推位讓國有虞陶唐弔民伐罪周發殷湯坐朝問道垂拱平章' +
  '愛育黎首臣伏戎羌遐邇壹體率賓歸王鳴鳳在竹白駒食場化被草木賴及萬方蓋此身髮四大五常恭惟鞠養豈敢毀傷女慕貞絜男效才良' +
  '知過必改得能莫忘罔談彼短靡恃己長信使可覆器欲難量墨悲絲染詩讚羔羊景行維賢克念作聖德建名立形端表正空谷傳聲虛堂習聽' +
  '禍因惡積福緣善慶尺璧非寶寸陰是競資父事君曰嚴與敬孝當竭力忠則盡命臨深履薄夙興溫凊似蘭斯馨如松之盛川流不息淵澄取映';

/**
 * Nôm: the opening of Truyện Kiều and a line of counting words, with many characters of CJK
 * Extension B (𤾓 trăm, 𢆥 năm, 𥪝 trong, 𠊛 người, 𠄩 hai, 𠀧 ba ...).
 */
const NOM = '𤾓𢆥𥪝𡎝𠊛些𡦂才𡦂命窖羅恄饒𣦆戈沒局𣷭橷仍調𥉩𧡊𦓡忉疸𢚸𠄩𠀧𦊚𠄼𦒹𣈜𣎃𢆥𠓨𡗶𨑗𧗱𠫾𡧲𠳨𨕭';

/**
 * The columns of one vertical page, in reading order (the first is printed rightmost): most
 * from the classic, one in three from the Nôm text, each page starting at a seeded place.
 */
export function hanColumns(rand: () => number, columns: number, perColumn: number): string[] {
  const classic = [...CLASSIC];
  const nom = [...NOM];
  let c = Math.floor(rand() * classic.length);
  let n = Math.floor(rand() * nom.length);
  const take = (chars: string[], from: number) => Array.from({ length: perColumn }, (_, k) => chars[(from + k) % chars.length] as string).join('');
  return Array.from({ length: columns }, () => {
    if (rand() < 1 / 3) {
      const column = take(nom, n);
      n = (n + perColumn) % nom.length;
      return column;
    }
    const column = take(classic, c);
    c = (c + perColumn) % classic.length;
    return column;
  });
}

/** Every character the Han pages may print, for checking that the fonts draw them. */
export const HAN_CHARACTERS = [...new Set([...CLASSIC, ...NOM])];
