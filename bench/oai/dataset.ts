/**
 * Works as a Vietnamese archive catalogues them, so that each OAI-PMH record is the size a
 * real harvest sees (about 1.5–2.5 KB of oai_dc): a Vietnamese title with its diacritics,
 * a Han-Nôm alternative title on about a third, a creator, a date in a reign year with its
 * year range, two or three subjects, a description of a few hundred characters, type,
 * format and extent, a shelf mark, a source, languages, a rights statement, spread over
 * twenty collections. All open: every work is a record of the harvest.
 */
import type { WorkSeed } from '../seed-works.ts';
import { mulberry32 } from '../../tests/helpers/prng.ts';

export const COLLECTIONS: ReadonlyArray<{ id: string; title: string }> = [
  ['dia-ba', 'Địa bạ triều Nguyễn'],
  ['gia-pha', 'Gia phả các dòng họ'],
  ['huong-uoc', 'Hương ước làng xã'],
  ['sac-phong', 'Sắc phong thần'],
  ['van-tu', 'Văn tự mua bán ruộng đất'],
  ['than-tich', 'Thần tích, thần sắc'],
  ['van-bia', 'Thác bản văn bia'],
  ['chau-ban', 'Châu bản triều Nguyễn'],
  ['dia-chi', 'Địa chí các tỉnh'],
  ['tho-van', 'Thơ văn Hán Nôm'],
  ['y-duoc', 'Sách thuốc cổ truyền'],
  ['kinh-phat', 'Kinh sách Phật giáo'],
  ['khoa-cu', 'Văn bản khoa cử'],
  ['tu-dien', 'Từ điển, tự vị'],
  ['lich-su', 'Sử liệu, biên niên'],
  ['ban-do', 'Bản đồ, họa đồ'],
  ['bao-chi', 'Báo chí quốc ngữ đầu thế kỷ XX'],
  ['thu-tich', 'Thư tịch Thiên Chúa giáo'],
  ['to-tung', 'Hồ sơ tố tụng'],
  ['dinh-bo', 'Đinh bạ, sổ thuế'],
].map(([id, title]) => ({ id: id as string, title: title as string }));

const TYPES = ['Địa bạ', 'Gia phả', 'Hương ước', 'Sắc phong', 'Văn tự', 'Thần tích', 'Văn bia', 'Châu bản', 'Địa chí', 'Thi tập', 'Y thư', 'Kinh', 'Văn sách', 'Tự vị', 'Biên niên', 'Họa đồ', 'Báo', 'Sách đạo', 'Hồ sơ', 'Đinh bạ'];
const HAN_TYPES = ['地簿', '家譜', '鄉約', '敕封', '文契', '神蹟', '碑文', '硃本', '地志', '詩集', '醫書', '經', '文策', '字彙', '編年', '畫圖', '報', '聖書', '案卷', '丁簿'];
const PLACES = ['Tứ Kỳ', 'Hoàng Long', 'Đông Ngạc', 'Kim Liên', 'Phú Xuyên', 'Thanh Oai', 'Đường Lâm', 'Mộ Trạch', 'Bát Tràng', 'Cổ Loa', 'Phù Lưu', 'Đình Bảng', 'Hành Thiện', 'Quỳnh Đôi', 'Tây Mỗ', 'Nhân Mục', 'Yên Thái', 'Thổ Hà', 'Văn Giang', 'Lạc Thổ'];
const HAN_PLACES = ['四岐', '黃龍', '東鄂', '金蓮', '富川', '青威', '唐林', '慕澤', '鉢場', '古螺', '扶留', '亭榜', '行善', '瓊堆', '西姥', '人睦', '安泰', '土河', '文江', '樂土'];
const PROVINCES = ['Hà Nội', 'Bắc Ninh', 'Hải Dương', 'Nam Định', 'Thái Bình', 'Sơn Tây', 'Hưng Yên', 'Thanh Hóa', 'Nghệ An', 'Hà Tĩnh'];
const SURNAMES = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Phan', 'Vũ', 'Đặng', 'Bùi', 'Đỗ', 'Hồ', 'Ngô', 'Dương', 'Lý'];
const GIVEN = ['Văn Đức', 'Hữu Trí', 'Công Chứ', 'Đình Tường', 'Quang Bật', 'Thị Hằng', 'Khắc Kiệm', 'Duy Thanh', 'Trọng Hợp', 'Bá Lân', 'Sĩ Liên', 'Đăng Đạo'];
const REIGNS: ReadonlyArray<[string, number, number]> = [['Cảnh Hưng', 1740, 1786], ['Gia Long', 1802, 1819], ['Minh Mệnh', 1820, 1840], ['Thiệu Trị', 1841, 1847], ['Tự Đức', 1848, 1883], ['Đồng Khánh', 1886, 1888], ['Thành Thái', 1889, 1907], ['Duy Tân', 1907, 1916], ['Khải Định', 1916, 1925], ['Bảo Đại', 1926, 1945]];
const SUBJECTS = ['Ruộng đất', 'Làng xã', 'Thuế khóa', 'Tín ngưỡng dân gian', 'Thành hoàng làng', 'Dòng họ', 'Khoa cử', 'Hành chính', 'Tố tụng', 'Y học cổ truyền', 'Phật giáo', 'Nho giáo', 'Lễ hội', 'Thủy lợi', 'Chợ và buôn bán', 'Nghề thủ công', 'Giáo dục', 'Văn học Hán Nôm'];
const PHRASES = [
  'Văn bản chép tay trên giấy dó, chữ Hán xen chữ Nôm, mực đen, có dấu triện đỏ của quan phủ sở tại.',
  'Ghi chép diện tích, hạng ruộng, xứ đồng và tên chủ ruộng của từng thôn, có lời chứng của lý trưởng và hương mục.',
  'Bản sao do Trường Viễn Đông Bác Cổ cho chép lại năm 1938, đối chiếu với bản gốc lưu tại đình làng.',
  'Nội dung gồm các điều lệ về việc cưới xin, ma chay, tế tự, khuyến học và giữ gìn an ninh trong làng.',
  'Một số tờ bị mối mọt, mép giấy rách, chữ mờ ở phần cuối; đã được tu bổ năm 2015.',
  'Phong tặng mỹ tự cho vị phúc thần, giao cho dân làng phụng thờ theo lệ cũ.',
  'Có chép thêm bài tựa của người biên soạn và danh sách người góp tiền khắc in.',
  'Thư tịch được hiến tặng bởi gia đình cụ đồ trong làng, kèm theo hộp gỗ đựng nguyên bản.',
  'Phần phụ lục liệt kê các khoản thu chi của hương hội trong ba năm liền, có chữ ký các chức dịch.',
  'Giá trị về ngôn ngữ: nhiều chữ Nôm hiếm, cách ghi âm phản ánh phương ngữ xứ Nghệ.',
];
const FORMATS = ['29 × 17 cm', '27 × 15 cm', '31 × 21 cm', '24 × 14 cm', '60 × 120 cm (thác bản)'];
const SOURCES = ['Viện Nghiên cứu Hán Nôm', 'Thư viện Quốc gia Việt Nam', 'Trung tâm Lưu trữ Quốc gia I', 'Sưu tầm điền dã', 'Tư gia hiến tặng'];
const RIGHTS = ['http://rightsstatements.org/vocab/NoC-US/1.0/', 'https://creativecommons.org/publicdomain/mark/1.0/'];

/** `describe` for seedWorks: work `w`'s metadata, the same for the same `w` on every run. */
export function describeWork(w: number): WorkSeed {
  // One generator per work: a work's record does not depend on how many came before.
  const rand = mulberry32(190_000 + w);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const c = w % COLLECTIONS.length;
  const p = Math.floor(rand() * PLACES.length);
  const [reign, from, to] = pick(REIGNS);
  const year = from + Math.floor(rand() * (to - from + 1));
  const nth = year - from + 1;
  const province = pick(PROVINCES);
  const description: string[] = [
    `${TYPES[c]} xã ${PLACES[p]}, huyện ${pick(PLACES)}, tỉnh ${province}, lập năm ${reign} thứ ${nth} (${year}).`,
  ];
  for (let i = 0, n = 2 + Math.floor(rand() * 3); i < n; i++) description.push(pick(PHRASES));
  const subjects = new Set<string>();
  for (let i = 0, n = 2 + Math.floor(rand() * 2); i < n; i++) subjects.add(pick(SUBJECTS));
  const hanNom = rand() < 0.35;
  const leaves = 4 + Math.floor(rand() * 120);
  return {
    metadata: {
      title: `${TYPES[c]} xã ${PLACES[p]} năm ${reign} thứ ${nth}`,
      ...(hanNom ? { alternativeTitle: [`${HAN_PLACES[p]}社${HAN_TYPES[c]}`] } : {}),
      creator: `${pick(SURNAMES)} ${pick(GIVEN)}`,
      date: `${reign} ${nth} (${year})`,
      yearFrom: year,
      yearTo: year,
      language: hanNom ? ['lzh', 'vie'] : rand() < 0.5 ? ['vie'] : ['lzh'],
      subject: [...subjects].join('; '),
      description: description.join(' '),
      type: TYPES[c] as string,
      format: pick(FORMATS),
      extent: `1 tập, ${leaves} tờ`,
      identifier: `HN.${String.fromCharCode(65 + c)}.${String(w).padStart(6, '0')}`,
      source: pick(SOURCES),
      rights: pick(RIGHTS),
      collectionId: COLLECTIONS[c]?.id as string,
    },
    accessLevel: 'open',
  };
}
